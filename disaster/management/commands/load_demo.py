from django.core.management.base import BaseCommand

from disaster.demo import DEMO_PASSWORD, DEMO_USERS, DemoCity


class Command(BaseCommand):
    help = "Load the demo city (座間市) from the real open data in ../shared/data. Idempotent."

    def handle(self, *args, **options):
        self.stdout.write("Loading the demo city (座間市)…")
        DemoCity(out=self.stdout.write).load()
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password: {DEMO_PASSWORD}):"))
        for username, role, *_ in DEMO_USERS:
            self.stdout.write(f"  {username:8} {role.label}")
