"""`manage.py setup_city`: build a city from the national open data (see the README's
"Set up your city")."""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from disaster.city_setup import ADMIN_PASSWORD_ENV, CityFiles, setup_city
from disaster.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Set up (or bring up to date) the city from national open data: the N03 boundary, "
        "GSI shelter files, e-Stat small areas, then depots, the catalogue and an "
        "administrator. Idempotent: running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--boundary", type=Path, required=True, help="国土数値情報 N03 GeoJSON (行政区域)"
        )
        parser.add_argument(
            "--shelters",
            type=Path,
            nargs="+",
            default=[],
            help="GSI 指定避難所 / 指定緊急避難場所 (GeoJSON or CSV), or 推奨データセット CSV",
        )
        parser.add_argument(
            "--small-areas",
            type=Path,
            help="e-Stat 小地域: polygons (GeoJSON or zipped Shapefile) or, where none are "
            "published, the attribute table with representative points (CSV): districts are "
            "then derived from the points",
        )
        parser.add_argument("--admin", default="admin", help="administrator's user name")
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would change, write nothing"
        )

    def handle(self, *args, **options) -> None:
        def read(path: Path) -> bytes:
            try:
                return path.read_bytes()
            except OSError as e:
                raise CommandError(f"{path}: {e.strerror}") from e

        files = CityFiles(
            boundary=read(options["boundary"]),
            shelters=[(path.name, read(path)) for path in options["shelters"]],
            small_areas=read(options["small_areas"]) if options["small_areas"] else None,
        )
        started = time.monotonic()
        try:
            result = setup_city(
                files,
                admin_username=options["admin"],
                admin_password=os.environ.get(ADMIN_PASSWORD_ENV) or None,
                dry_run=options["dry_run"],
                out=self.stdout.write,
            )
        except DomainError as e:
            details = "; ".join(f"{k}: {v}" for k, v in e.fields.items())
            rows = e.extra.get("rows") or []
            lines = [f"  line {r['line']} {r['field']}: {r['message']}" for r in rows[:50]]
            raise CommandError("\n".join([f"{e.message} {details}".strip(), *lines])) from e
        elapsed = time.monotonic() - started
        if result.dry_run:
            self.stdout.write(self.style.WARNING(f"Dry run: nothing written ({elapsed:.1f} s)."))
        elif result.changed:
            self.stdout.write(self.style.SUCCESS(f"City set up ({elapsed:.1f} s)."))
        else:
            self.stdout.write(self.style.SUCCESS(f"Nothing to change ({elapsed:.1f} s)."))
        if result.admin_password:
            self.stdout.write(
                self.style.WARNING(
                    f"Administrator {options['admin']!r} password (shown once, change it "
                    f"after signing in): {result.admin_password}"
                )
            )
