"""Prepare the demo: migrate, create the demo user and catalogue, write sample files."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from example_project.demo.models import Partner, Product
from example_project.demo.samples import PARTNERS, PRODUCT_COUNT, write_samples

USERNAME = "admin"
PASSWORD = "admin"


class Command(BaseCommand):
    help = "Migrate, create the demo admin user and catalogue, and write sample files."

    def handle(self, *args: Any, **options: Any) -> None:
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", verbosity=0)
        user, _ = get_user_model().objects.get_or_create(
            username=USERNAME, defaults={"is_staff": True, "is_superuser": True}
        )
        user.set_password(PASSWORD)
        user.save()
        for name in PARTNERS:
            Partner.objects.get_or_create(name=name)
        for i in range(PRODUCT_COUNT):
            Product.objects.get_or_create(sku=f"PRD-{i:04d}", defaults={"title": f"Product {i}"})
        paths = write_samples(settings.DATA_DIR / "samples")
        self.stdout.write(self.style.SUCCESS("Demo ready."))
        self.stdout.write(
            f"  Admin:    http://127.0.0.1:8000/admin/  user {USERNAME!r}, password {PASSWORD!r}"
        )
        for path in paths:
            self.stdout.write(f"  Sample:   {path}")
        self.stdout.write("  Upload a sample under Demo > Stock record imports > Add.")
