"""
Make the test files of the readers (issue 11) in this folder, most with ``<name>.expected.json``.

Run ``python tests/files/make_files.py`` (re-runnable, deterministic). Spreadsheets are written by
LibreOffice itself: a flat ODS with number formats is written here and converted by ``soffice
--headless --convert-to xlsx|xls|ods``; without ``soffice`` on the PATH the spreadsheets are kept
as they are and only their ``expected.json`` is written again. Text files are written byte-exact
with Python's codecs, as Excel writes them (ANSI code page of the Windows locale, CRLF, ``;`` in
Europe; "Unicode Text" = UTF-16 LE with BOM, tab-separated).

``expected.json`` holds ``{"headers": [...], "rows": [[...], ...]}``: the text a person sees in
each cell, as the package's readers give it (the lead's decisions of #11: dates as ISO dates, a
date-time at midnight as a date, percentages and scientific notation as the stored value, grouping
and currency symbols left out), or ``{"error": {...}}`` for a file that must be refused. The long
legacy CSVs (200 rows; 300 in the second corpus, every ANSI code page Excel writes, Mac Roman,
with stock codes) have none: their text is the file decoded with the codec ``MANIFEST.json``
names. ``MANIFEST.json`` says, for each file, how it was made and what a reader must find
(encoding, delimiter, number formats LibreOffice stored). Files that only repeat others (a
workbook renamed ``.csv``) and the file of more than 64 KiB are made by the tests themselves.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import random
import shutil
import struct
import subprocess
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

HERE = Path(__file__).resolve().parent
OUT = HERE
MANIFEST: dict[str, dict[str, object]] = {}


# --- writing helpers ---------------------------------------------------------------------------


def write_expected(name: str, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    data = {"headers": list(headers), "rows": [list(r) for r in rows]}
    text = json.dumps(data, ensure_ascii=False, indent=1)
    (OUT / f"{name}.expected.json").write_text(text + "\n", encoding="utf-8")


def write_error(name: str, kind: str, **details: object) -> None:
    data = {"error": {"kind": kind, **details}}
    text = json.dumps(data, ensure_ascii=False, indent=1)
    (OUT / f"{name}.expected.json").write_text(text + "\n", encoding="utf-8")


def csv_text(rows: Iterable[Sequence[str]], delimiter: str, lineterminator: str = "\r\n") -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator=lineterminator).writerows(rows)
    return buffer.getvalue()


def write_csv(
    name: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    encoding: str,
    delimiter: str,
    bom: bytes = b"",
    note: str = "",
    lineterminator: str = "\r\n",
    expected: bool = True,
) -> None:
    """Write a CSV byte-exact in ``encoding`` and (unless told not to) its expected text."""
    text = csv_text([headers, *rows], delimiter, lineterminator)
    (OUT / name).write_bytes(bom + text.encode(encoding))
    if expected:
        write_expected(name, headers, rows)
    MANIFEST[name] = {
        "made_by": "python codecs",
        "encoding": encoding,
        "bom": bom.hex(" ") or None,
        "delimiter": delimiter,
        "rows": len(rows),
        "note": note,
    }


# --- legacy code page samples ------------------------------------------------------------------


@dataclass
class Language:
    """Words of one language, to make realistic rows of an Excel export."""

    code: str
    headers: list[str]
    first: list[str]
    last: list[str]
    cities: list[str]
    products: list[str]
    decimal: str = ","
    date_format: str = "{d:02d}.{m:02d}.{y}"
    extra: list[str] = field(default_factory=list)
    #: How a name is written from its parts (Korean and Chinese: family name first, no space).
    name_format: str = "{first} {last}"
    #: Prefix of an ASCII stock code (SKU) column after the first one, as in a real stock
    #: sheet (its header is in ``headers``); none when empty (the first samples have none).
    sku: str = ""
    #: Excel's list separator in the locale: ";" where the decimal separator is a comma.
    delimiter: str = ";"

    def rows(self, count: int, seed: int) -> list[list[str]]:
        rng = random.Random(seed)
        rows = []
        for number in range(1, count + 1):
            price = rng.randint(50, 250_000) / 100
            price_text = f"{price:.2f}".replace(".", self.decimal)
            day, month = rng.randint(1, 28), rng.randint(1, 12)
            name = self.name_format.format(first=rng.choice(self.first), last=rng.choice(self.last))
            sku = [f"{self.sku}-{rng.randint(1000, 99999)}"] if self.sku else []
            rows.append(
                [
                    str(number),
                    *sku,
                    name,
                    rng.choice(self.cities),
                    rng.choice(self.products),
                    str(rng.randint(1, 40)),
                    price_text,
                    self.date_format.format(d=day, m=month, y=2024),
                ]
            )
        column = 4 if self.sku else 3
        for offset, text in enumerate(self.extra):
            if offset < len(rows):
                rows[offset][column] = text
        return rows


WESTERN = Language(
    code="de-fr",
    headers=["Nr.", "Kunde", "Stadt", "Artikel", "Menge", "Preis €", "Datum"],
    first=["Amélie", "François", "Jürgen", "Søren", "Ángel", "Zoë", "Björn", "Inès", "Günther"],
    last=["Müller", "Schäfer", "Gößling", "Lefèvre", "Núñez", "O'Brien", "Dubois", "Weiß"],
    cities=["Zürich", "Köln", "Besançon", "Málaga", "Düsseldorf", "Genève", "Saint-Étienne"],
    products=[
        "Café crème",
        "Crème brûlée",
        "Käse (würzig)",
        "Bœuf bourguignon",
        "Jalapeño-Soße",
        "Apfelstrudel „Wiener Art“",
        "Rosé 0,75 l",
        "Gâteau – 8 Stück",
    ],
    extra=["Preis inkl. 19 % MwSt. – 12,50 €", "Café « Spécial »", "Größe: ½ kg"],
)
POLISH = Language(
    code="pl",
    headers=["Lp.", "Klient", "Miasto", "Produkt", "Ilość", "Cena zł", "Data"],
    first=["Łukasz", "Małgorzata", "Wojciech", "Żaneta", "Grzegorz", "Agnieszka", "Józef"],
    last=["Wiśniewski", "Wójcik", "Dąbrowska", "Żółkiewski", "Jabłoński", "Kaźmierczak"],
    cities=["Łódź", "Kraków", "Gdańsk", "Wrocław", "Poznań", "Bielsko-Biała", "Zielona Góra"],
    products=[
        "Żurek śląski",
        "Pierogi ruskie",
        "Gołąbki w sosie",
        "Śledź w śmietanie",
        "Barszcz czerwony",
        "Chleb żytni",
        "Kiełbasa żywiecka",
    ],
    extra=["Zażółć gęślą jaźń", "Pchnąć w tę łódź jeża lub ośm skrzyń fig"],
)
CZECH = Language(
    code="cs",
    headers=["Č.", "Zákazník", "Město", "Zboží", "Množství", "Cena Kč", "Datum"],
    first=["Jiří", "Kateřina", "Tomáš", "Lucie", "Petr", "Zuzana", "Ondřej", "Šárka"],
    last=["Novák", "Dvořák", "Černý", "Procházková", "Kučera", "Veselý", "Horák", "Růžička"],
    cities=["Praha", "Brno", "Ostrava", "Plzeň", "České Budějovice", "Hradec Králové", "Ústí"],
    products=["Svíčková", "Knedlíky", "Koláče", "Trdelník", "Bramborák", "Utopenec", "Štrúdl"],
    date_format="{d}. {m}. {y}",
    extra=["Příliš žluťoučký kůň úpěl ďábelské ódy", "Žluťoučký kůň"],
)
RUSSIAN = Language(
    code="ru",
    headers=["№", "Клиент", "Город", "Товар", "Количество", "Цена, руб.", "Дата"],
    first=["Иван", "Мария", "Алексей", "Наталья", "Дмитрий", "Ольга", "Сергей", "Юлия"],
    last=["Петров", "Смирнова", "Кузнецов", "Попова", "Соколов", "Лебедева", "Фёдоров"],
    cities=["Москва", "Санкт-Петербург", "Новосибирск", "Екатеринбург", "Казань", "Самара"],
    products=["Гречка ядрица", "Пельмени домашние", "Квас хлебный", "Сметана 20%", "Чай чёрный"],
    extra=["Съешь же ещё этих мягких французских булок, да выпей чаю"],
)
BULGARIAN = Language(
    code="bg",
    headers=["№", "Клиент", "Град", "Стока", "Количество", "Цена, лв.", "Дата"],
    first=["Георги", "Йордан", "Цветелина", "Петя", "Стоян", "Десислава", "Ивайло"],
    last=["Иванов", "Георгиева", "Димитров", "Стоянова", "Петков", "Христова", "Тодоров"],
    cities=["София", "Пловдив", "Варна", "Бургас", "Стара Загора", "Русе", "Велико Търново"],
    products=["Баница със сирене", "Кисело мляко", "Шопска салата", "Лютеница", "Кашкавал"],
    extra=["Жълтата дюля беше щастлива, че пухът, който цъфна, замръзна като гьон"],
)
JAPANESE = Language(
    code="ja",
    headers=["番号", "顧客名", "都市", "商品名", "数量", "単価（円）", "日付"],
    first=["太郎", "花子", "一郎", "美咲", "健", "さくら", "翔太"],
    last=["山田", "佐藤", "鈴木", "高橋", "田中", "渡辺", "伊藤"],
    cities=["東京都", "大阪府", "札幌市", "名古屋市", "福岡市", "横浜市", "京都市"],
    products=[
        "緑茶（５００ｍｌ）",
        "おにぎり 鮭",
        "カップラーメン",
        "ボールペン 黒",
        "ノート Ａ５ 横罫",
        "ハンカチ～花柄～",
        "電池 ①単三形",
    ],
    decimal=".",
    date_format="{y}/{m:02d}/{d:02d}",
)
TURKISH = Language(
    code="tr",
    headers=["No", "Müşteri", "Şehir", "Ürün", "Miktar", "Fiyat TL", "Tarih"],
    first=["Ayşe", "Gülşen", "İsmail", "Çağrı", "Şükrü", "Öznur", "Ümit"],
    last=["Yılmaz", "Öztürk", "Şahin", "Çelik", "Doğan", "Aydın", "Kılıç"],
    cities=["İstanbul", "İzmir", "Eskişehir", "Muğla", "Şanlıurfa", "Çanakkale", "Diyarbakır"],
    products=["Çay bardağı", "Lokum (güllü)", "Şalgam suyu", "Kaşar peyniri", "Simit"],
)
GREEK = Language(
    code="el",
    headers=["Α/Α", "Πελάτης", "Πόλη", "Προϊόν", "Ποσότητα", "Τιμή €", "Ημερομηνία"],
    first=["Γιώργος", "Μαρία", "Δημήτρης", "Ελένη", "Κώστας", "Αικατερίνη"],
    last=["Παπαδόπουλος", "Νικολάου", "Γεωργίου", "Οικονόμου", "Αθανασίου"],
    cities=["Αθήνα", "Θεσσαλονίκη", "Πάτρα", "Ηράκλειο", "Λάρισα", "Βόλος"],
    products=["Φέτα ΠΟΠ", "Ελαιόλαδο έξτρα παρθένο", "Μέλι θυμαρίσιο", "Ούζο", "Γιαούρτι"],
    date_format="{d:02d}/{m:02d}/{y}",
)

# Languages of the second corpus (issue 11, "CSVs saved by a non-Western Excel"): every ANSI code
# page Excel writes on Windows, and Mac Excel's Mac Roman; each row carries an ASCII stock code.
SPANISH = Language(
    code="es",
    headers=["Nº", "Código", "Cliente", "Ciudad", "Artículo", "Cantidad", "Precio €", "Fecha"],
    first=["José", "María", "Íñigo", "Begoña", "Raúl", "Lucía", "Andrés", "Adrián"],
    last=["García", "Fernández", "Muñoz", "Martínez", "Peña", "Ibáñez", "Gómez", "Durán"],
    cities=["Madrid", "A Coruña", "Cádiz", "Logroño", "Córdoba", "Málaga", "Jaén", "León"],
    products=[
        "Jamón ibérico de bellota",
        "Aceite de oliva virgen extra",
        "Turrón de Jijona",
        "Queso manchego curado",
        "Piñones 100 g",
        "Sidra asturiana",
        "Pimentón de la Vera",
    ],
    date_format="{d:02d}/{m:02d}/{y}",
    sku="ES",
    extra=["Envío gratis a partir de 50 €", "¿Descuento? ¡Sí, 10 %!"],
)
PORTUGUESE = Language(
    code="pt",
    headers=["Nº", "Código", "Cliente", "Cidade", "Produto", "Quantidade", "Preço R$", "Data"],
    first=["João", "Conceição", "Sebastião", "Luís", "Inês", "Gonçalo", "Lúcia", "Antônio"],
    last=["Gonçalves", "Simões", "Magalhães", "Araújo", "Brandão", "Assunção", "Louçã"],
    cities=["São Paulo", "Belém", "Florianópolis", "Goiânia", "Maceió", "Lisboa", "Évora"],
    products=[
        "Pão de queijo",
        "Açaí na tigela",
        "Feijão preto 1 kg",
        "Café torrado e moído",
        "Requeijão cremoso",
        "Guaraná 2 L",
        "Bacalhau à Gomes de Sá",
    ],
    date_format="{d:02d}/{m:02d}/{y}",
    sku="BR",
)
SWEDISH = Language(
    code="sv",
    headers=["Nr", "Artikelnr", "Kund", "Ort", "Artikel", "Antal", "Pris kr", "Datum"],
    first=["Åsa", "Björn", "Märta", "Göran", "Ingrid", "Sören", "Maja", "Örjan"],
    last=["Åkesson", "Lindqvist", "Öberg", "Johansson", "Strömberg", "Ekström", "Hägglund"],
    cities=["Göteborg", "Malmö", "Västerås", "Örebro", "Jönköping", "Umeå", "Norrköping"],
    products=[
        "Kanelbulle",
        "Knäckebröd råg",
        "Lingonsylt",
        "Köttbullar 500 g",
        "Prästost lagrad",
        "Gravad lax",
        "Smörgåstårta",
    ],
    date_format="{y}-{m:02d}-{d:02d}",
    sku="SE",
)
DANISH = Language(
    code="da-no",
    headers=["Nr.", "Varenr.", "Kunde", "By", "Vare", "Antal", "Pris kr.", "Dato"],
    first=["Søren", "Mette", "Bjørn", "Åse", "Kjærsti", "Jørgen", "Sigrid", "Ødegaard"],
    last=["Jørgensen", "Sørensen", "Kjær", "Østergaard", "Bræstrup", "Løvås", "Dæhlie"],
    cities=["København", "Århus", "Ålborg", "Tromsø", "Bodø", "Kristiansand", "Næstved"],
    products=[
        "Rødgrød med fløde",
        "Smørrebrød",
        "Brunost",
        "Æblekage",
        "Leverpostej",
        "Flæskesteg",
        "Fårikål",
    ],
    sku="DK",
)
HUNGARIAN = Language(
    code="hu",
    headers=["Sorsz.", "Cikkszám", "Ügyfél", "Város", "Termék", "Mennyiség", "Ár (Ft)", "Dátum"],
    first=["Árpád", "Erzsébet", "Győző", "Tünde", "Ödön", "Zsófia", "Bálint", "Réka"],
    last=["Kovács", "Szűcs", "Németh", "Tóth", "Fülöp", "Győri", "Molnár", "Hegedűs"],
    cities=["Győr", "Pécs", "Székesfehérvár", "Nyíregyháza", "Debrecen", "Kecskemét", "Sopron"],
    products=[
        "Túró Rudi",
        "Pálinka (szilva)",
        "Lángos sajtos-tejfölös",
        "Gulyásleves",
        "Pick szalámi",
        "Dobos torta",
        "Pogácsa",
    ],
    date_format="{y}. {m:02d}. {d:02d}.",
    sku="HU",
    extra=["Árvíztűrő tükörfúrógép", "Öt szép szűzlány őrült írót nyúz"],
)
ROMANIAN = Language(
    code="ro",
    headers=["Nr.", "Cod", "Client", "Oraş", "Produs", "Cantitate", "Preţ (lei)", "Data"],
    first=["Ştefan", "Ioana", "Mihai", "Alexandra", "Răzvan", "Cătălina", "Andrei", "Oana"],
    last=["Popescu", "Ionescu", "Dumitrescu", "Stănescu", "Ţăranu", "Munteanu", "Văduva"],
    cities=["Bucureşti", "Cluj-Napoca", "Timişoara", "Iaşi", "Braşov", "Constanţa", "Piteşti"],
    products=[
        "Mititei",
        "Brânză de burduf",
        "Ţuică de prune",
        "Cozonac cu nucă",
        "Mămăligă",
        "Zacuscă de casă",
        "Sarmale în foi de viţă",
    ],
    sku="RO",
)
UKRAINIAN = Language(
    code="uk",
    headers=["№", "Артикул", "Клієнт", "Місто", "Товар", "Кількість", "Ціна, грн", "Дата"],
    first=["Олександр", "Оксана", "Тарас", "Ірина", "Богдан", "Юлія", "Андрій", "Їжакова"],
    last=["Шевченко", "Коваленко", "Бондаренко", "Ткаченко", "Кравчук", "Мельник", "Ґудзь"],
    cities=["Київ", "Львів", "Одеса", "Харків", "Дніпро", "Запоріжжя", "Івано-Франківськ"],
    products=[
        "Борщ український",
        "Вареники з вишнею",
        "Сало з часником",
        "Хліб житній",
        "Ряжанка 2,5%",
        "Мед гречаний",
        "Узвар сушений",
    ],
    sku="UA",
    extra=["Чуєш їх, доцю, га? Кумедна ж ти, прощайся без ґольфів!"],
)
SERBIAN = Language(
    code="sr",
    headers=["Бр.", "Шифра", "Купац", "Град", "Производ", "Количина", "Цена дин.", "Датум"],
    first=["Никола", "Јелена", "Ђорђе", "Милица", "Љубомир", "Драгана", "Небојша"],
    last=["Јовановић", "Петровић", "Николић", "Ђорђевић", "Живковић", "Стојановић"],
    cities=["Београд", "Нови Сад", "Ниш", "Крагујевац", "Суботица", "Чачак", "Ужице"],
    products=["Ајвар љути", "Ракија шљивовица", "Пршута", "Кајмак", "Пљескавица", "Ђувеч"],
    sku="RS",
)
TURKISH_STOCK = Language(
    code="tr",
    headers=["Sıra", "Stok Kodu", "Müşteri", "İl", "Ürün", "Adet", "Birim Fiyat TL", "Tarih"],
    first=["Ahmet", "Gülşen", "İsmail", "Çağrı", "Şükrü", "Öznur", "Ümit", "Buğra"],
    last=["Yılmaz", "Öztürk", "Şahin", "Çelik", "Doğan", "Aydın", "Kılıç", "Erdoğdu"],
    cities=["İstanbul", "İzmir", "Eskişehir", "Muğla", "Şanlıurfa", "Çanakkale", "Iğdır"],
    products=[
        "Yağlı güreş havlusu",
        "Çiğ köfte (acılı)",
        "Ayran 1 lt",
        "Fıstıklı baklava",
        "Öğle yemeği kuponu",
        "Kağıt havlu 12'li",
    ],
    sku="TR",
)
GREEK_STOCK = Language(
    code="el",
    headers=["Α/Α", "Κωδικός", "Πελάτης", "Πόλη", "Είδος", "Τεμάχια", "Τιμή €", "Ημερομηνία"],
    first=["Γιάννης", "Σοφία", "Νίκος", "Κατερίνα", "Παναγιώτης", "Δέσποινα", "Βασίλης"],
    last=["Καραγιάννης", "Βλάχου", "Ζαχαρίου", "Μαυρίδης", "Ψαρρά", "Χατζηδάκης"],
    cities=["Αθήνα", "Θεσσαλονίκη", "Ιωάννινα", "Χανιά", "Καλαμάτα", "Ρόδος", "Κέρκυρα"],
    products=["Κασέρι", "Παστέλι με σουσάμι", "Τσίπουρο", "Χαλβάς", "Ρίγανη ξερή", "Λουκούμι"],
    date_format="{d:02d}/{m:02d}/{y}",
    sku="GR",
)
HEBREW = Language(
    code="he",
    headers=["מס'", 'מק"ט', "לקוח", "עיר", "מוצר", "כמות", "מחיר ₪", "תאריך"],
    first=["יוסי", "מיכל", "אבי", "נועה", "דני", "שירה", "משה", "רחל", "איתי", "תמר"],
    last=["כהן", "לוי", "מזרחי", "פרץ", "ביטון", "אברהם", "פרידמן", "שפירא", "דהן"],
    cities=["תל אביב", "ירושלים", "חיפה", "באר שבע", "ראשון לציון", "פתח תקווה", "אשדוד"],
    products=[
        "חלב 3% קרטון ליטר",
        "לחם אחיד פרוס",
        "גבינה לבנה 5%",
        "במבה 80 גרם",
        "שמן זית כתית מעולה",
        "קפה שחור טורקי",
        "חומוס עם טחינה",
        "ביצים L תבנית 12",
    ],
    decimal=".",
    date_format="{d:02d}/{m:02d}/{y}",
    sku="IL",
    delimiter=",",
    extra=["משלוח חינם מעל 200 ₪", "מבצע: 1+1 על כל המוצרים"],
)
#: A customer list whose short samples charset-normalizer read as KOI8-R capitals (issue 11).
HEBREW_CUSTOMERS = Language(
    code="he",
    headers=["מס' לקוח", "שם", "יישוב", "כתובת", "הזמנות", "יתרה ₪", "תאריך הצטרפות"],
    first=["צביקה", "שושנה", "זאב", "ציפורה", "שמואל", "חיים", "יצחק", "צפורה", "עוזי", "גליה"],
    last=["קצנלנבוגן", "שטרן", "גולדשטיין", "צוקרמן", "פלדמן", "וייס", "קליין", "שוורץ"],
    cities=["קריית שמונה", "צפת", "קצרין", "זכרון יעקב", "חדרה", "קריית גת", "עפולה"],
    products=[
        "רחוב ז'בוטינסקי 12",
        "שדרות ירושלים 7",
        "רחוב הרצל 45",
        "סמטת השקמה 3",
        "רחוב ויצמן 101",
        "דרך חברון 22",
    ],
    decimal=".",
    date_format="{d:02d}/{m:02d}/{y}",
    delimiter=",",
)
ARABIC = Language(
    code="ar",
    headers=["رقم", "رمز الصنف", "العميل", "المدينة", "المنتج", "الكمية", "السعر", "التاريخ"],
    first=["محمد", "فاطمة", "أحمد", "عائشة", "خالد", "مريم", "يوسف", "نورة", "عبد الله"],
    last=["العلي", "الحسن", "المصري", "الشمري", "القحطاني", "الزهراني", "حداد", "منصور"],
    cities=["الرياض", "جدة", "دبي", "القاهرة", "عمّان", "الدار البيضاء", "الدوحة", "بيروت"],
    products=[
        "أرز بسمتي 5 كغ",
        "زيت زيتون بكر",
        "تمر مجدول",
        "قهوة عربية بالهيل",
        "حليب طازج 1 لتر",
        "خبز عربي",
        "جبنة بيضاء",
        "شاي أحمر",
    ],
    decimal=".",
    date_format="{d:02d}/{m:02d}/{y}",
    sku="SA",
    delimiter=",",
)
PERSIAN = Language(
    code="fa",
    headers=["ردیف", "کد کالا", "مشتری", "شهر", "کالا", "تعداد", "قیمت (ریال)", "تاریخ"],
    first=["علی", "زهرا", "حسین", "مریم", "رضا", "فاطمه", "امیر", "نرگس"],
    last=["محمدی", "حسینی", "رضایی", "کریمی", "احمدی", "موسوی", "جعفری", "پورمحمد"],
    cities=["تهران", "اصفهان", "شیراز", "مشهد", "تبریز", "کرج", "رشت"],
    products=[
        "چای ایرانی",
        "زعفران یک مثقال",
        "برنج هاشمی",
        "پسته اکبری",
        "گز اصفهان",
        "دوغ محلی",
        "ماست پرچرب",
    ],
    decimal=".",
    date_format="{y}/{m:02d}/{d:02d}",
    sku="IR",
    delimiter=",",
)
LITHUANIAN = Language(
    code="lt",
    headers=["Nr.", "Prekės kodas", "Klientas", "Miestas", "Prekė", "Kiekis", "Kaina €", "Data"],
    first=["Jonas", "Rūta", "Žygimantas", "Aušra", "Mindaugas", "Gintarė", "Šarūnas", "Eglė"],
    last=["Kazlauskas", "Petrauskienė", "Jankauskas", "Žukauskaitė", "Butkus", "Paulauskas"],
    cities=["Vilnius", "Kaunas", "Klaipėda", "Šiauliai", "Panevėžys", "Alytus", "Marijampolė"],
    products=[
        "Šakotis",
        "Cepelinai su mėsa",
        "Juoda duona",
        "Rūkyti skilandžiai",
        "Kefyras 2,5 %",
        "Grietinė",
        "Varškės sūris",
    ],
    date_format="{y}-{m:02d}-{d:02d}",
    sku="LT",
)
LATVIAN = Language(
    code="lv",
    headers=["Nr.", "Kods", "Klients", "Pilsēta", "Prece", "Daudzums", "Cena €", "Datums"],
    first=["Jānis", "Līga", "Andris", "Ilze", "Kārlis", "Inese", "Mārtiņš", "Dace"],
    last=["Bērziņš", "Kalniņa", "Ozoliņš", "Liepiņa", "Krūmiņš", "Vītola", "Zariņš"],
    cities=["Rīga", "Daugavpils", "Liepāja", "Jelgava", "Jūrmala", "Ventspils", "Rēzekne"],
    products=[
        "Rupjmaize",
        "Pelēkie zirņi ar speķi",
        "Sklandrausis",
        "Kefīrs 2 %",
        "Biezpiens",
        "Šprotes eļļā",
        "Rīgas Melnais balzams",
    ],
    date_format="{d:02d}.{m:02d}.{y}.",
    sku="LV",
)
ESTONIAN = Language(
    code="et",
    headers=["Nr", "Tootekood", "Klient", "Linn", "Toode", "Kogus", "Hind €", "Kuupäev"],
    first=["Jüri", "Mari", "Tõnu", "Külli", "Märt", "Ülle", "Andres", "Kadri"],
    last=["Tamm", "Saar", "Sepp", "Mägi", "Kask", "Kukk", "Rebane", "Õunapuu"],
    cities=["Tallinn", "Tartu", "Pärnu", "Narva", "Viljandi", "Kuressaare", "Võru"],
    products=[
        "Kama",
        "Verivorst",
        "Rukkileib",
        "Hapukurk",
        "Kohuke",
        "Räim marinaadis",
        "Šokolaad Kalev",
    ],
    sku="EE",
)
VIETNAMESE = Language(
    code="vi",
    headers=[
        "STT",
        "Mã hàng",
        "Khách hàng",
        "Thành phố",
        "Sản phẩm",
        "Số lượng",
        "Đơn giá ₫",
        "Ngày",
    ],
    first=["Nguyễn Văn", "Trần Thị", "Lê Hoàng", "Phạm Minh", "Hoàng Thị", "Vũ Đức", "Đặng Thu"],
    last=["An", "Bình", "Hương", "Tuấn", "Lan", "Dũng", "Hà", "Phượng"],
    cities=["Hà Nội", "Thành phố Hồ Chí Minh", "Đà Nẵng", "Hải Phòng", "Cần Thơ", "Huế"],
    products=[
        "Cà phê sữa đá",
        "Phở bò tái",
        "Bánh mì thịt nướng",
        "Nước mắm Phú Quốc",
        "Gạo ST25 túi 5kg",
        "Trà xanh Thái Nguyên",
        "Bánh chưng",
    ],
    date_format="{d:02d}/{m:02d}/{y}",
    sku="VN",
)
THAI = Language(
    code="th",
    headers=["ลำดับ", "รหัสสินค้า", "ลูกค้า", "จังหวัด", "สินค้า", "จำนวน", "ราคา (บาท)", "วันที่"],
    first=["สมชาย", "สมหญิง", "วิชัย", "มาลี", "ประเสริฐ", "สุดารัตน์", "ธนากร", "กาญจนา"],
    last=["ใจดี", "แสงทอง", "ศรีสุข", "วงศ์สวัสดิ์", "บุญมา", "ทองคำ", "รัตนพันธ์"],
    cities=["กรุงเทพมหานคร", "เชียงใหม่", "ขอนแก่น", "ภูเก็ต", "นครราชสีมา", "สงขลา"],
    products=[
        "น้ำปลาแท้ 700 มล.",
        "ข้าวหอมมะลิ 5 กก.",
        "กาแฟเย็น",
        "ผัดไทยกุ้งสด",
        "มะม่วงน้ำดอกไม้",
        "น้ำพริกเผา",
        "ยาหม่องตราลิงถือลูกท้อ",
    ],
    decimal=".",
    date_format="{d:02d}/{m:02d}/{y}",
    sku="TH",
    delimiter=",",
)
KOREAN = Language(
    code="ko",
    headers=["번호", "상품코드", "고객명", "도시", "상품명", "수량", "단가(원)", "날짜"],
    first=["민준", "서연", "지훈", "하은", "도윤", "수빈", "예준", "지우"],
    last=["김", "이", "박", "최", "정", "강", "조", "윤"],
    cities=["서울특별시", "부산광역시", "인천광역시", "대구광역시", "대전광역시", "수원시"],
    products=[
        "신라면 120g",
        "햇반 210g",
        "포기김치 1kg",
        "참이슬 소주",
        "바나나맛 우유",
        "초코파이 12개입",
        "고추장 500g",
    ],
    decimal=".",
    date_format="{y}-{m:02d}-{d:02d}",
    name_format="{last}{first}",
    sku="KR",
    delimiter=",",
)
CHINESE = Language(
    code="zh-cn",
    headers=["序号", "商品编码", "客户", "城市", "商品名称", "数量", "单价(元)", "日期"],
    first=["伟", "芳", "娜", "秀英", "敏", "静", "强", "磊"],
    last=["王", "李", "张", "刘", "陈", "杨", "赵", "黄"],
    cities=["北京市", "上海市", "广州市", "深圳市", "成都市", "杭州市", "武汉市"],
    products=[
        "红烧牛肉面",
        "矿泉水 550ml",
        "五常大米 5kg",
        "食用调和油",
        "香辣脆油辣椒",
        "纯牛奶 250ml×12",
        "绿茶饮料",
    ],
    decimal=".",
    date_format="{y}/{m}/{d}",
    name_format="{last}{first}",
    sku="CN",
    delimiter=",",
)
TAIWANESE = Language(
    code="zh-tw",
    headers=["編號", "商品代碼", "客戶", "城市", "商品名稱", "數量", "單價(元)", "日期"],
    first=["志明", "春嬌", "家豪", "淑芬", "俊傑", "美玲", "冠宇"],
    last=["陳", "林", "黃", "張", "李", "王", "吳"],
    cities=["臺北市", "新北市", "臺中市", "高雄市", "桃園市", "臺南市", "新竹市"],
    products=[
        "珍珠奶茶",
        "鳳梨酥 12入",
        "烏龍茶 600ml",
        "牛肉麵",
        "滷肉飯便當",
        "綠豆椪",
        "太陽餅",
    ],
    decimal=".",
    date_format="{y}/{m}/{d}",
    name_format="{last}{first}",
    sku="TW",
    delimiter=",",
)
FRENCH_MAC = Language(
    code="fr",
    headers=["N°", "Référence", "Client", "Ville", "Article", "Quantité", "Prix €", "Date"],
    first=["Amélie", "François", "Hélène", "Jérôme", "Loïc", "Noémie", "Cécile", "Gaëlle"],
    last=["Lefèvre", "Dubois", "Bérenger", "Mercier", "Faure", "Chevalier", "Lemaître"],
    cities=["Besançon", "Orléans", "Nîmes", "Saint-Étienne", "Montréal", "Genève", "Bâle"],
    products=[
        "Crème fraîche épaisse",
        "Pâté de campagne",
        "Bœuf bourguignon",
        "Café « Spécial »",
        "Fromage à raclette",
        "Crêpes au sucre",
        "Rosé de Provence 75 cl",
    ],
    date_format="{d:02d}/{m:02d}/{y}",
    sku="FR",
)

#: (file stem, language, codec, seed) of the second corpus: short files of 4 rows, long of 300.
MORE_LEGACY = [
    ("cp1252_es", SPANISH, "cp1252", 21),
    ("cp1252_pt", PORTUGUESE, "cp1252", 22),
    ("cp1252_sv", SWEDISH, "cp1252", 23),
    ("cp1252_da_no", DANISH, "cp1252", 24),
    ("cp1250_hu", HUNGARIAN, "cp1250", 25),
    ("cp1250_ro", ROMANIAN, "cp1250", 26),
    ("cp1251_uk", UKRAINIAN, "cp1251", 27),
    ("cp1251_sr", SERBIAN, "cp1251", 28),
    ("cp1253_el_stock", GREEK_STOCK, "cp1253", 29),
    ("cp1254_tr_stock", TURKISH_STOCK, "cp1254", 30),
    ("cp1255_he", HEBREW, "cp1255", 31),
    ("cp1255_he_customers", HEBREW_CUSTOMERS, "cp1255", 9),
    ("cp1256_ar", ARABIC, "cp1256", 32),
    ("cp1256_fa", PERSIAN, "cp1256", 33),
    ("cp1257_lt", LITHUANIAN, "cp1257", 34),
    ("cp1257_lv", LATVIAN, "cp1257", 35),
    ("cp1257_et", ESTONIAN, "cp1257", 36),
    ("cp1258_vi", VIETNAMESE, "cp1258", 37),
    ("cp874_th", THAI, "cp874", 38),
    ("cp949_ko", KOREAN, "cp949", 39),
    ("gbk_zh_cn", CHINESE, "gbk", 40),
    ("cp950_zh_tw", TAIWANESE, "cp950", 41),
    ("mac_roman_fr", FRENCH_MAC, "mac_roman", 42),
    ("mac_roman_de_fr", WESTERN, "mac_roman", 43),
    ("mac_roman_es", SPANISH, "mac_roman", 47),
    ("iso8859_7_el", GREEK_STOCK, "iso8859_7", 48),
    ("utf8_he", HEBREW, "utf-8", 44),
    ("utf8_th", THAI, "utf-8", 45),
    ("utf8_vi", VIETNAMESE, "utf-8", 46),
]


#: (file stem, language, codec, seed): the legacy code pages Excel writes on Windows.
LEGACY = [
    ("cp1252_de_fr", WESTERN, "cp1252", 1),
    ("cp1250_pl", POLISH, "cp1250", 2),
    ("iso8859_2_pl", POLISH, "iso8859_2", 3),
    ("cp1250_cs", CZECH, "cp1250", 4),
    ("iso8859_2_cs", CZECH, "iso8859_2", 5),
    ("cp1251_ru", RUSSIAN, "cp1251", 6),
    ("cp1251_bg", BULGARIAN, "cp1251", 7),
    ("koi8_r_ru", RUSSIAN, "koi8_r", 8),
    ("cp932_ja", JAPANESE, "cp932", 9),
    ("cp1254_tr", TURKISH, "cp1254", 10),
    ("cp1253_el", GREEK, "cp1253", 11),
]


#: Characters a code page lacks, replaced as a person would type them there.
REPLACEMENTS = {
    "iso8859_2": {"„": '"', "“": '"', "–": "-"},
    "koi8_r": {"№": "N"},
    "cp1256": {"ی": "ي"},  # Persian yeh is not in cp1256: Arabic yeh, as older systems type it
    "mac_roman": {"½": "1/2"},
}


def decomposed_for(codec: str, text: str) -> str:
    """Return ``text`` as a code page of base letters and combining marks stores it.

    Windows' Vietnamese code page (cp1258) holds â ê ô ơ ư ă but no letter with a tone: ``ệ``
    is written ``ê`` and a combining dot below, and read back so.
    """
    out = []
    for char in text:
        try:
            char.encode(codec)
        except UnicodeEncodeError:
            base, *marks = unicodedata.normalize("NFD", char)
            for mark in list(marks):
                joined = unicodedata.normalize("NFC", base + mark)
                if len(joined) == 1 and joined.encode(codec, "ignore"):
                    base = joined
                    marks.remove(mark)
            char = base + "".join(marks)
        out.append(char)
    return "".join(out)


def plain_for(
    codec: str, headers: list[str], rows: list[list[str]]
) -> tuple[list[str], list[list[str]]]:
    table = str.maketrans(REPLACEMENTS.get(codec, {}))

    def plain(text: str) -> str:
        return (
            decomposed_for(codec, text.translate(table))
            if codec == "cp1258"
            else text.translate(table)
        )

    return [plain(h) for h in headers], [[plain(c) for c in r] for r in rows]


def make_legacy_csvs() -> None:
    for stem, language, codec, seed in LEGACY:
        for size, count in (("short", 3), ("long", 200)):
            rows = language.rows(count, seed)
            headers = language.headers
            headers, rows = plain_for(codec, headers, rows)
            write_csv(
                f"{stem}_{size}.csv",
                headers,
                rows,
                encoding=codec,
                delimiter=";",
                note=f"Excel 'CSV (semicolon)' on a {language.code} Windows ({codec})",
                expected=size == "short",
            )


def make_more_legacy_csvs() -> None:
    for stem, language, codec, seed in MORE_LEGACY:
        for size, count in (("short", 4), ("long", 300)):
            headers, rows = plain_for(codec, language.headers, language.rows(count, seed))
            write_csv(
                f"{stem}_{size}.csv",
                headers,
                rows,
                encoding=codec,
                delimiter=language.delimiter,
                note=f"Excel 'CSV' on a {language.code} Windows ({codec}), with stock codes",
                expected=size == "short",
            )
    # Four rows of a Hebrew customer list read as KOI8-R capitals before issue 11; KOI8-R's
    # reading is more coherent to charset-normalizer: refused, naming both.
    name = "cp1255_he_customers_short.csv"
    MANIFEST[name]["note"] = "4 rows that read as Hebrew (cp1255) or Russian (KOI8-R): refused"
    write_error(name, "ambiguous-encoding", readings=["cp1255", "koi8-r"])
    # Four rows of Greek that read as credibly, as other text, in Cyrillic (windows-1251): refused.
    headers, rows = plain_for("cp1253", GREEK.headers, GREEK.rows(4, 118))
    name = "cp1253_el_ambiguous_short.csv"
    write_csv(name, headers, rows, encoding="cp1253", delimiter=";", expected=False)
    MANIFEST[name]["note"] = "4 rows that read as Greek (cp1253) or Cyrillic (cp1251): refused"
    write_error(name, "ambiguous-encoding", readings=["cp1253", "cp1251"])


# --- Unicode samples ---------------------------------------------------------------------------

UNICODE_HEADERS = ["id", "name", "city", "note", "price"]
UNICODE_ROWS = [
    ["1", "Иван Петров", "Москва", "Съешь же ещё этих булок", "12.50"],
    ["2", "Zażółć gęślą jaźń", "Łódź", "Příliš žluťoučký kůň", "7.00"],
    ["3", "山田太郎", "東京都", "緑茶（５００ｍｌ）～", "1500"],
    ["4", "Müller & Söhne", "Zürich", "Café «crème» – 5 €", "3.20"],
    ["5", "Ελένη", "Αθήνα", "emoji 😀 and 𝄞 (outside the BMP)", "0.99"],
    ["6", "O'Brien, Pat", "Dublin", 'says "hi"; tab\there', "-4.10"],
    ["7", "line\nbreak", "Kraków", "", "10"],
]


def make_unicode_files() -> None:
    h, r = UNICODE_HEADERS, UNICODE_ROWS
    write_csv(
        "utf8_bom.csv",
        h,
        r,
        encoding="utf-8",
        delimiter=",",
        bom=codecs.BOM_UTF8,
        note="Excel 'CSV UTF-8 (comma delimited)'",
    )
    write_csv(
        "utf8_nobom.csv",
        h,
        r,
        encoding="utf-8",
        delimiter=",",
        note="UTF-8 without BOM (Google Sheets, Numbers, most programs)",
    )
    write_csv(
        "utf8_nobom_semicolon_lf.csv",
        h,
        r,
        encoding="utf-8",
        delimiter=";",
        lineterminator="\n",
        note="UTF-8, ';', LF line ends (LibreOffice/Linux)",
    )
    write_csv(
        "utf16le_bom_tab.txt",
        h,
        r,
        encoding="utf-16-le",
        delimiter="\t",
        bom=codecs.BOM_UTF16_LE,
        note="Excel 'Unicode Text': FF FE, tab, CRLF",
    )
    write_csv(
        "utf16be_bom_tab.txt",
        h,
        r,
        encoding="utf-16-be",
        delimiter="\t",
        bom=codecs.BOM_UTF16_BE,
        note="UTF-16 BE with BOM (rare; some Mac tools)",
    )
    write_csv(
        "utf16le_bom_comma.csv",
        h,
        r,
        encoding="utf-16-le",
        delimiter=",",
        bom=codecs.BOM_UTF16_LE,
        note="UTF-16 LE with BOM, comma (some exporters)",
    )
    write_csv(
        "utf32le_bom.csv",
        h,
        r,
        encoding="utf-32-le",
        delimiter=",",
        bom=codecs.BOM_UTF32_LE,
        note="UTF-32 LE BOM FF FE 00 00 starts like UTF-16 LE's",
    )
    write_csv(
        "utf32be_bom.csv",
        h,
        r,
        encoding="utf-32-be",
        delimiter=",",
        bom=codecs.BOM_UTF32_BE,
        note="UTF-32 BE with BOM",
    )


# --- delimiters --------------------------------------------------------------------------------

DELIMITER_CASES: list[tuple[str, str, list[list[str]], str]] = [
    (
        "delim_quoted_header.csv",
        ";",
        [
            ["Last, First", "City, Country", "Price"],
            ["Doe, John", "Paris, FR", "12,50"],
            ["Roe, Jane", "Köln, DE", "7,00"],
            ["Poe, Ed", "Boston, US", "3,10"],
        ],
        "quoted header fields hold commas; ',' and ';' tie in the header",
    ),
    (
        "delim_tie_header.csv",
        ";",
        [
            ["Date", "Value, EUR", "Notes, internal"],
            ["05.03.2024", "1,5", "ok"],
            ["06.03.2024", "2,25", "late"],
            ["07.03.2024", "10", "n/a"],
        ],
        "unquoted commas in the header: 2 ',' vs 2 ';' (Excel quotes only when needed)",
    ),
    (
        "delim_single_column.csv",
        ",",
        [["Email"], ["alice@example.com"], ["bob@example.com"], ["carol@example.com"]],
        "one column: no delimiter at all; any choice gives one column",
    ),
    (
        "delim_single_column_quoted.csv",
        ",",
        [["Full name"], ["Doe, John"], ["Alice"], ["Roe, Jane"]],
        "one column whose values hold commas (quoted by Excel)",
    ),
    (
        "delim_tab.tsv",
        "\t",
        [["Name", "Price", "Note"], ["Apple, red", "1,50", "a; b"], ["Pear", "2,00", "x, y"]],
        "tab-separated; commas and semicolons inside values",
    ),
    (
        "delim_pipe.csv",
        "|",
        [
            ["id", "name", "price"],
            ["1", "Smith, J.", "1.50"],
            ["2", "Doe; Jane", "2.00"],
            ["3", "O'Brien", "3.25"],
        ],
        "pipe-separated; commas and semicolons inside values",
    ),
    (
        "delim_header_without_delimiter.csv",
        ";",
        [
            ["Products"],
            ["id", "name", "price"],
            ["1", "Apple", "1,50"],
            ["2", "Pear", "2,00"],
            ["3", "Plum", "0,75"],
        ],
        "first line is a title with no delimiter; the body uses ';' (the header row has 1 cell)",
    ),
    (
        "delim_semicolon_decimal_comma.csv",
        ";",
        [
            ["Name", "Price", "Weight"],
            ["Apple", "1,50", "0,2"],
            ["Pear", "2,00", "0,25"],
            ["Plum", "0,75", "1,125"],
        ],
        "European Excel: ';' with decimal commas in the body",
    ),
    (
        "delim_comma_with_semicolons.csv",
        ",",
        [
            ["name", "comment", "score"],
            ["Bob", "likes; semicolons; a lot", "1"],
            ["Ann", "fine", "2"],
            ["Eve", "a;b;c;d", "3"],
        ],
        "comma file whose quoted text holds more ';' than the lines hold ','",
    ),
    (
        "delim_quoted_newline.csv",
        ";",
        [
            ["Name\n(full)", "Address", "Zip"],
            ["Doe, John", "Main St. 1\nSpringfield", "01234"],
            ["Roe, Jane", "Elm St. 2", "04567"],
        ],
        "a quoted header cell spans two lines",
    ),
    (
        "delim_comma_plain.csv",
        ",",
        [["id", "name", "price"], ["1", "Apple", "1.50"], ["2", "Pear", "2.00"]],
        "the plain case",
    ),
]


def make_delimiter_files() -> None:
    for name, delimiter, rows, note in DELIMITER_CASES:
        write_csv(name, rows[0], rows[1:], encoding="utf-8", delimiter=delimiter, note=note)


# --- JSON --------------------------------------------------------------------------------------

JSON_RECORDS_TEXT = """[
  {"id": 1, "name": "Иван Петров", "price": 12.50, "qty": 3, "active": true, "note": null,
   "tags": ["a", "b"], "address": {"city": "Москва", "zip": "101000"}},
  {"id": 2, "name": "Zażółć", "price": 7, "qty": 0, "active": false, "note": "ok",
   "tags": [], "address": {"city": "Łódź", "zip": null}},
  {"name": "山田太郎", "id": 3, "price": 1e-7, "qty": 12345678901234567890, "extra": "only here"},
  {"id": 4, "name": "", "price": -0.0, "qty": -5, "active": true, "note": "line\\nbreak",
   "1": "numeric-looking key", "": "empty key"}
]
"""


def json_cell(value: object) -> str:
    """The proposed text of a JSON value: literal text for scalars, JSON text for containers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)  # the number's literal text (parse_float/parse_int=str)


def json_expected(records: list[dict[str, object]]) -> tuple[list[str], list[list[str]]]:
    headers: list[str] = []
    for record in records:
        headers += [key for key in record if key not in headers]
    while headers and not headers[-1].strip():  # a blank header at the end names no column
        headers.pop()
    rows = [[json_cell(record.get(key)) for key in headers] for record in records]
    return headers, rows


def make_json_files() -> None:
    records = json.loads(JSON_RECORDS_TEXT, parse_float=str, parse_int=str)
    headers, rows = json_expected(records)
    (OUT / "records.json").write_text(JSON_RECORDS_TEXT, encoding="utf-8")
    write_expected("records.json", headers, rows)
    note = "numbers keep their literal text; null -> ''; containers -> JSON text; keys: union"
    MANIFEST["records.json"] = {"made_by": "hand", "format": "json", "note": note}
    # Written by hand: json.dumps would re-serialise the numbers (12.50 -> 12.5).
    lines = (
        '{"id": 1, "name": "Иван Петров", "price": 12.50, "qty": 3, "active": true, "note": null, '
        '"tags": ["a", "b"], "address": {"city": "Москва", "zip": "101000"}}\n'
        '{"id": 2, "name": "Zażółć", "price": 7, "qty": 0, "active": false, "note": "ok", '
        '"tags": [], "address": {"city": "Łódź", "zip": null}}\n'
        "\n"
        '{"name": "山田太郎", "id": 3, "price": 1e-7, "qty": 12345678901234567890, '
        '"extra": "only here"}\n'
        '{"id": 4, "name": "", "price": -0.0, "qty": -5, "active": true, "note": "line\\nbreak", '
        '"1": "numeric-looking key", "": "empty key"}\r\n'
    )
    (OUT / "records.jsonl").write_text(lines, encoding="utf-8", newline="")
    write_expected("records.jsonl", headers, rows)
    MANIFEST["records.jsonl"] = {
        "made_by": "hand",
        "format": "jsonl",
        "note": note + "; a blank line (skipped) and a CRLF line end",
    }
    make_bad_json()


def make_bad_json() -> None:
    (OUT / "bad_not_array.json").write_text('{"id": 1, "name": "x"}\n', encoding="utf-8")
    write_error("bad_not_array.json", "not-an-array-of-objects")
    (OUT / "bad_duplicate_key.json").write_text('[{"id": 1, "id": 2}]\n', encoding="utf-8")
    write_error("bad_duplicate_key.json", "duplicate-key", key="id", object=1)
    (OUT / "bad_line.jsonl").write_text('{"id": 1}\n[1, 2]\n{"id": 3\n', encoding="utf-8")
    write_error("bad_line.jsonl", "bad-line", line=2, message="is not a JSON object")
    for name in ("bad_not_array.json", "bad_duplicate_key.json", "bad_line.jsonl"):
        MANIFEST[name] = {"made_by": "hand", "format": name.rsplit(".", 1)[1]}


# --- bad inputs --------------------------------------------------------------------------------


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xff\x00\x00" * 2 + b"\x00" + b"\x00\x00\xff" * 2)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def make_bad_inputs() -> None:
    (OUT / "bad_png_named.csv").write_bytes(tiny_png())
    write_error("bad_png_named.csv", "not-text", looks_like="PNG image")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        entry = zipfile.ZipInfo("data.csv", date_time=(2024, 3, 5, 14, 30, 0))
        archive.writestr(entry, "id,name\r\n1,Alice\r\n")
    (OUT / "bad_zip_named.csv").write_bytes(buffer.getvalue())
    write_error("bad_zip_named.csv", "not-text", looks_like="ZIP archive")
    (OUT / "bad_random.txt").write_bytes(random.Random(11).randbytes(4096))
    write_error("bad_random.txt", "not-text", looks_like="binary data")
    text = "id,name,name,price,id\r\n1,Alice,Al,1.50,9\r\n"
    (OUT / "bad_duplicate_headers.csv").write_bytes(text.encode("utf-8"))
    write_error("bad_duplicate_headers.csv", "duplicate-headers", headers=["id", "name"])
    write_csv(
        "nul_in_cell.csv",
        ["id", "name", "slug"],
        [["1", "Ali\x00ce", "alice"], ["2", "Bob", "b\x00b"], ["3", "Carol", "carol"]],
        encoding="utf-8",
        delimiter=",",
        note="NUL inside cells of rows 2 and 3: those rows' errors, the file is read",
    )
    (OUT / "bad_empty.csv").write_bytes(b"")
    write_error("bad_empty.csv", "empty")
    (OUT / "bad_blank.csv").write_bytes(b" \r\n\r\n\t\r\n")
    write_error("bad_blank.csv", "empty")
    for name in (
        "bad_png_named.csv",
        "bad_zip_named.csv",
        "bad_random.txt",
        "bad_duplicate_headers.csv",
        "bad_empty.csv",
        "bad_blank.csv",
    ):
        MANIFEST[name] = {"made_by": "python", "bad": True}


# --- spreadsheets written by LibreOffice -------------------------------------------------------

FODS_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
<office:styles>
"""

#: ODF number styles (name -> XML body); each gets a cell style ``ce_<name>``.
NUMBER_STYLES = {
    "zip": '<number:number-style style:name="zip"><number:number number:decimal-places="0" '
    'number:min-integer-digits="5"/></number:number-style>',
    "dec2": '<number:number-style style:name="dec2"><number:number number:decimal-places="2" '
    'number:min-decimal-places="2" number:min-integer-digits="1"/></number:number-style>',
    "group2": '<number:number-style style:name="group2"><number:number '
    'number:decimal-places="2" number:min-decimal-places="2" number:min-integer-digits="1" '
    'number:grouping="true"/></number:number-style>',
    "group0": '<number:number-style style:name="group0"><number:number '
    'number:decimal-places="0" number:min-integer-digits="1" number:grouping="true"/>'
    "</number:number-style>",
    "pct2": '<number:percentage-style style:name="pct2"><number:number '
    'number:decimal-places="2" number:min-decimal-places="2" number:min-integer-digits="1"/>'
    "<number:text>%</number:text></number:percentage-style>",
    "pct0": '<number:percentage-style style:name="pct0"><number:number '
    'number:decimal-places="0" number:min-integer-digits="1"/>'
    "<number:text>%</number:text></number:percentage-style>",
    "eur": '<number:currency-style style:name="eur" number:language="de" number:country="DE">'
    '<number:number number:decimal-places="2" number:min-decimal-places="2" '
    'number:min-integer-digits="1" number:grouping="true"/><number:text> </number:text>'
    '<number:currency-symbol number:language="de" number:country="DE">€</number:currency-symbol>'
    "</number:currency-style>",
    "sci": '<number:number-style style:name="sci"><number:scientific-number '
    'number:decimal-places="2" number:min-integer-digits="1" number:min-exponent-digits="2"/>'
    "</number:number-style>",
    "dmy": '<number:date-style style:name="dmy"><number:day number:style="long"/>'
    '<number:text>/</number:text><number:month number:style="long"/><number:text>/</number:text>'
    '<number:year number:style="long"/></number:date-style>',
    "dmy_dots": '<number:date-style style:name="dmy_dots"><number:day number:style="long"/>'
    '<number:text>.</number:text><number:month number:style="long"/><number:text>.</number:text>'
    '<number:year number:style="long"/></number:date-style>',
    "ymdhms": '<number:date-style style:name="ymdhms"><number:year number:style="long"/>'
    '<number:text>-</number:text><number:month number:style="long"/><number:text>-</number:text>'
    '<number:day number:style="long"/><number:text> </number:text><number:hours '
    'number:style="long"/><number:text>:</number:text><number:minutes number:style="long"/>'
    '<number:text>:</number:text><number:seconds number:style="long"/></number:date-style>',
    "jdate": '<number:date-style style:name="jdate" number:language="ja" number:country="JP">'
    '<number:year number:style="long"/><number:text>年</number:text><number:month/>'
    "<number:text>月</number:text><number:day/><number:text>日</number:text></number:date-style>",
    "hhmm": '<number:time-style style:name="hhmm"><number:hours number:style="long"/>'
    '<number:text>:</number:text><number:minutes number:style="long"/></number:time-style>',
    "dur": '<number:time-style style:name="dur" number:truncate-on-overflow="false">'
    '<number:hours number:style="long"/><number:text>:</number:text><number:minutes '
    'number:style="long"/><number:text>:</number:text><number:seconds number:style="long"/>'
    "</number:time-style>",
    "bool": '<number:boolean-style style:name="bool"><number:boolean/></number:boolean-style>',
    "text": '<number:text-style style:name="text"><number:text-content/></number:text-style>',
}


@dataclass
class Cell:
    """One spreadsheet cell: its ODF XML and the text a person sees (our convention)."""

    xml: str
    text: str


def string(text: str) -> Cell:
    paragraphs = "".join(f"<text:p>{escape(line)}</text:p>" for line in text.split("\n"))
    xml = f'<table:table-cell office:value-type="string">{paragraphs}</table:table-cell>'
    return Cell(xml, text)


def styled(style: str, value_type: str, attrs: str, text: str) -> Cell:
    xml = (
        f'<table:table-cell table:style-name="ce_{style}" office:value-type="{value_type}" '
        f"{attrs}/>"
    )
    return Cell(xml, text)


def number(value: float, text: str, style: str = "") -> Cell:
    style_attr = f'table:style-name="ce_{style}" ' if style else ""
    xml = f'<table:table-cell {style_attr}office:value-type="float" office:value="{value!r}"/>'
    return Cell(xml, text)


def date(iso: str, style: str, text: str = "") -> Cell:
    shown = text or iso.removesuffix("T00:00:00")  # a date-time at midnight reads as a date
    return styled(style, "date", f'office:date-value="{iso}"', shown)


def boolean(value: bool) -> Cell:
    flag = "true" if value else "false"
    return styled("bool", "boolean", f'office:boolean-value="{flag}"', flag.upper())


def text_number(text: str) -> Cell:
    """A number typed into a cell formatted as text ('@'): stored as a string."""
    xml = (
        '<table:table-cell table:style-name="ce_text" office:value-type="string">'
        f"<text:p>{escape(text)}</text:p></table:table-cell>"
    )
    return Cell(xml, text)


EMPTY = Cell("<table:table-cell/>", "")

TYPICAL_HEADERS = [
    "Code",
    "Zip",
    "Price",
    "Quantity",
    "Ratio",
    "Date",
    "Updated",
    "Name",
    "Active",
    "Note",
]


def typical_rows() -> list[list[Cell]]:
    rows = [
        (
            "00123",
            123,
            1.5,
            3,
            3.14159,
            "2024-03-05",
            "2024-03-05T14:30:00",
            "Иван Петров",
            True,
            "first",
        ),
        (
            "0042",
            7,
            2,
            10,
            0.5,
            "1999-12-31",
            "2024-12-31T23:59:59",
            "Zażółć gęślą jaźń",
            False,
            "",
        ),
        (
            "007",
            12345,
            1234.5,
            1000000,
            2.25,
            "2000-02-29",
            "2024-01-01T00:00:00",
            "Příliš žluťoučký kůň",
            True,
            "midnight in a date-time column",
        ),
        (
            "A-001",
            0,
            0,
            0,
            0.1,
            "2024-01-01",
            "2023-06-15T08:05:09",
            "東京都渋谷区 緑茶",
            True,
            "line one\nline two",
        ),
        (
            "00000",
            99999,
            -0.5,
            -7,
            -1.75,
            "1970-01-01",
            "2000-01-01T12:00:00",
            "Müller & Söhne",
            False,
            "negative numbers",
        ),
        (
            "1",
            1010,
            19.99,
            250,
            100.125,
            "2038-01-19",
            "1999-12-31T23:59:00",
            "Café «crème» €",
            True,
            "",
        ),
        ("0815", 501, 0.1, 12, 1.5, "1900-03-01", "2024-02-29T06:00:00", "Ελένη", None, "no bool"),
        (
            "000999",
            8,
            999999.99,
            1,
            0.001,
            "2024-12-31",
            "2024-07-04T16:45:30",
            "😀 emoji",
            False,
            "",
        ),
        (
            "12345678901234567890",
            123456,
            10,
            99,
            42,
            "2010-10-10",
            "2010-10-10T10:10:10",
            "Ꭰ Cherokee, ß, ﬁ ligature",
            True,
            "long digit text",
        ),
        ("", 42, 3.3, 1234567890, 0.25, "", "", "", True, "empty cells before"),
        (
            " 0012 ",
            3,
            7.5,
            5,
            7,
            "2024-03-05",
            "2024-03-05T00:00:01",
            "  spaces  ",
            False,
            "spaces kept",
        ),
    ]
    return [typical_row(*row) for row in rows]


def typical_row(code, zip_, price, qty, ratio, day, moment, name, active, note) -> list[Cell]:
    return [
        string(code) if code else EMPTY,
        number(zip_, f"{zip_:05d}", "zip"),
        number(price, f"{price:.2f}", "dec2"),
        number(qty, str(qty)),
        number(ratio, general_text(ratio)),
        date(day, "dmy") if day else EMPTY,
        date(moment, "ymdhms") if moment else EMPTY,
        string(name) if name else EMPTY,
        boolean(active) if active is not None else EMPTY,
        string(note) if note else EMPTY,
    ]


def general_text(value: float) -> str:
    """A number as General shows it: 15 significant digits, no exponent."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = format(Decimal(format(float(value), ".15g")), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


FORMATS_HEADERS = [
    "Label",
    "Grouped",
    "Percent",
    "Percent0",
    "Euro",
    "Scientific",
    "Time",
    "Duration",
    "JapaneseDate",
    "OldDate",
    "TextNumber",
    "Rounded",
    "Thousands",
]


def ungrouped(shown: str) -> str:
    """The proposed text of a grouped or currency number: its digits, sign and decimals."""
    return shown.replace(",", "")


def formats_rows() -> list[list[Cell]]:
    """Number formats whose text is a decision.

    Expected = what LibreOffice shows (en-US), except: dates and times by our ISO convention,
    grouping separators and currency symbols dropped (they do not change the value and would
    make the text unreadable as a number), percentages and scientific notation as the stored
    value (``%`` changes the value; the mantissa is rounded). The tuples below hold LibreOffice's
    text; ``ungrouped`` and ``general_text`` make the expected one.
    """
    data = [
        (
            "small",
            1234.5,
            "1,234.50",
            0.125,
            "12.50%",
            "13%",
            "1,234.50 €",
            123456,
            "1.23E+05",
            "PT14H30M00S",
            "14:30:00",
            "PT26H00M00S",
            "26:00:00",
            "2024-03-05",
            "1969-07-20",
            "00042",
            0.125,
            "0.13",
            1234567,
            "1,234,567",
        ),
        (
            "negative",
            -1234.5,
            "-1,234.50",
            -0.5,
            "-50.00%",
            "-50%",
            "-1,234.50 €",
            -0.00012,
            "-1.20E-04",
            "PT00H00M00S",
            "00:00:00",
            "PT01H30M15S",
            "01:30:15",
            "1999-12-31",
            "1955-11-05",
            "0.50",
            2.675,
            "2.68",
            -1000,
            "-1,000",
        ),
        (
            "zero",
            0,
            "0.00",
            0,
            "0.00%",
            "0%",
            "0.00 €",
            0,
            "0.00E+00",
            "PT23H59M59S",
            "23:59:59",
            "PT100H00M00S",
            "100:00:00",
            "2000-01-01",
            "1900-03-01",
            "1e3",
            1.005,
            "1.01",
            0,
            "0",
        ),
        (
            "big",
            1234567.891,
            "1,234,567.89",
            1.5,
            "150.00%",
            "150%",
            "1,234,567.89 €",
            6.02214076e23,
            "6.02E+23",
            "PT12H00M00S",
            "12:00:00",
            "PT00H00M01S",
            "00:00:01",
            "2024-12-31",
            "1901-01-01",
            "TRUE",
            0.5,
            "0.50",
            999,
            "999",
        ),
    ]
    rows = []
    for (
        label,
        grouped,
        grouped_t,
        pct,
        _pct_t,
        _pct0_t,
        _eur_t,
        sci,
        _sci_t,
        tm,
        tm_t,
        dur,
        dur_t,
        jdate,
        old,
        textnum,
        rounded,
        rounded_t,
        thousands,
        thousands_t,
    ) in data:
        rows.append(
            [
                string(label),
                number(grouped, ungrouped(grouped_t), "group2"),
                # a percentage reads as its value (12.50% is 0.125), as scientific notation does
                styled("pct2", "percentage", f'office:value="{pct!r}"', general_text(pct)),
                styled("pct0", "percentage", f'office:value="{pct!r}"', general_text(pct)),
                styled(
                    "eur",
                    "currency",
                    f'office:currency="EUR" office:value="{grouped!r}"',
                    ungrouped(grouped_t),
                ),
                number(sci, general_text(sci), "sci"),
                styled("hhmm", "time", f'office:time-value="{tm}"', tm_t),
                styled("dur", "time", f'office:time-value="{dur}"', dur_t),
                date(jdate, "jdate"),
                date(old, "dmy_dots"),
                text_number(textnum),
                number(rounded, rounded_t, "dec2"),
                number(thousands, ungrouped(thousands_t), "group0"),
            ]
        )
    return rows


def fods(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    styles = "".join(NUMBER_STYLES.values())
    cell_styles = "".join(
        f'<style:style style:name="ce_{name}" style:family="table-cell" '
        f'style:data-style-name="{name}"/>'
        for name in NUMBER_STYLES
    )
    lines = [FODS_HEAD, styles, cell_styles, "</office:styles>\n<office:body><office:spreadsheet>"]
    lines.append(f"<table:table table:name={quoteattr('Sheet1')}>")
    lines.append(f'<table:table-column table:number-columns-repeated="{len(headers)}"/>')
    header = "".join(string(h).xml for h in headers)
    lines.append(f"<table:table-row>{header}</table:table-row>")
    for row in rows:
        lines.append("<table:table-row>" + "".join(c.xml for c in row) + "</table:table-row>")
    lines.append("</table:table></office:spreadsheet></office:body></office:document>\n")
    return "\n".join(lines)


def soffice_convert(source: Path, target_format: str, outdir: Path) -> Path:
    """Convert with LibreOffice headless; returns the written file."""
    with tempfile.TemporaryDirectory() as profile:
        command = [
            "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            target_format,
            "--outdir",
            str(outdir),
            str(source),
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=180)
    extension = target_format.split(":", 1)[0]
    return outdir / f"{source.stem}.{extension}"


def shown_by_libreoffice(source: Path) -> list[list[str]]:
    """The cells as LibreOffice shows them (its CSV export with 'save as shown')."""
    with tempfile.TemporaryDirectory() as work:
        csv_filter = "csv:Text - txt - csv (StarCalc):44,34,76,1,,1033,false,false,true"
        path = soffice_convert(source, csv_filter, Path(work))
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.reader(handle))


def xlsx_formats(path: Path) -> dict[str, dict[str, str]]:
    """The number format LibreOffice stored for each column of the first data rows."""
    import openpyxl

    sheet = openpyxl.load_workbook(path).worksheets[0]
    found: dict[str, dict[str, str]] = {}
    headers = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        for header, cell in zip(headers, row, strict=False):
            if cell.value is None:
                continue
            entry = found.setdefault(str(header), {})
            entry.setdefault("number_format", cell.number_format)
            entry.setdefault("data_type", cell.data_type)
    return found


def make_spreadsheets() -> None:
    convert = bool(shutil.which("soffice"))
    if not convert:
        print("soffice not found: keeping the spreadsheets as they are, writing their expectations")
    for stem, headers, rows in (
        ("typical", TYPICAL_HEADERS, typical_rows()),
        ("formats", FORMATS_HEADERS, formats_rows()),
    ):
        expected = [[c.text for c in row] for row in rows]
        for extension in ("xlsx", "xls", "ods"):
            write_expected(f"{stem}.{extension}", headers, expected)
        if not convert:
            continue
        with tempfile.TemporaryDirectory() as work:
            source = Path(work) / f"{stem}.fods"
            source.write_text(fods(headers, rows), encoding="utf-8")
            shown = shown_by_libreoffice(source)
            for extension in ("xlsx", "xls", "ods"):
                soffice_convert(source, extension, OUT)
        MANIFEST[f"{stem}.xlsx"] = {
            "made_by": "LibreOffice (soffice --convert-to xlsx) from the .fods",
            "stored_formats": xlsx_formats(OUT / f"{stem}.xlsx"),
            "libreoffice_shows": shown,
            "differs_from_shown": shown_differences(headers, expected, shown),
        }
        for extension in ("xls", "ods"):
            MANIFEST[f"{stem}.{extension}"] = {"made_by": f"LibreOffice, same cells as {stem}.xlsx"}


def shown_differences(
    headers: Sequence[str], expected: list[list[str]], shown: list[list[str]]
) -> list[str]:
    """Cells where the expected text is not what LibreOffice shows (dates: by convention)."""
    notes = []
    for row_index, (want, seen) in enumerate(zip(expected, shown[1:], strict=False), start=2):
        for header, a, b in zip(headers, want, seen, strict=False):
            if a != b:
                notes.append(f"row {row_index} {header}: expected {a!r}, LibreOffice shows {b!r}")
    return notes


def main() -> None:
    OUT.mkdir(exist_ok=True)
    make_spreadsheets()
    make_legacy_csvs()
    make_more_legacy_csvs()
    make_unicode_files()
    make_delimiter_files()
    make_json_files()
    make_bad_inputs()
    manifest_path = OUT / "MANIFEST.json"
    old = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    for name, entry in old.items():  # keep the spreadsheet entries when soffice was missing
        MANIFEST.setdefault(name, entry)
    text = json.dumps(dict(sorted(MANIFEST.items())), ensure_ascii=False, indent=1)
    manifest_path.write_text(text + "\n", encoding="utf-8")
    print(f"{len(MANIFEST)} files in {OUT}")


if __name__ == "__main__":
    main()
