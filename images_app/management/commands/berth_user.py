"""Create a user with a role, change a role, deactivate or reactivate: for scripts and first setup.

python manage.py berth_user alice --role operator --password-stdin < secret.txt
BERTH_USER_PASSWORD=... python manage.py berth_user alice --role admin
python manage.py berth_user alice --deactivate      (or --reactivate)

The same services as the users page: every change is audited (actor "system"),
the last active admin cannot be demoted or deactivated, nobody is ever deleted.
"""

from __future__ import annotations

import os
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from images_app.roles import ROLES
from images_app.services.audit import AuditContext, audit_record
from images_app.services.users import (
    UserChangeRefused,
    user_create,
    user_deactivate,
    user_reactivate,
    user_role_change,
)

_VIA = "manage.py berth_user"


class Command(BaseCommand):
    help = "Create a user with a role (viewer, operator, admin), change a role, deactivate or reactivate a user."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("username")
        parser.add_argument("--role", choices=ROLES, help="Required for a new user")
        parser.add_argument("--email", default="")
        parser.add_argument("--password-stdin", action="store_true", help="Read the password from standard input")
        parser.add_argument(
            "--no-validate", action="store_true", help="Skip Django's password validators (test setups)"
        )
        active = parser.add_mutually_exclusive_group()
        active.add_argument("--deactivate", action="store_true", help="Stop the user logging in (kept for history)")
        active.add_argument("--reactivate", action="store_true", help="Let a deactivated user log in again")

    def handle(
        self,
        *args,
        username: str,
        role: str | None,
        email: str,
        password_stdin: bool,
        no_validate: bool,
        deactivate: bool,
        reactivate: bool,
        **options,
    ) -> None:
        password = self._password(password_stdin)
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if password and not no_validate:
            try:
                validate_password(password, user or user_model(username=username, email=email))
            except ValidationError as exc:
                raise CommandError("Password rejected: " + " ".join(exc.messages)) from None
        try:
            if user is None:
                self._create(username, email, role, password)
                return
            if password:
                with transaction.atomic():
                    user.set_password(password)
                    user.save(update_fields=["password"])
                    audit_record(
                        action="user_password_set",
                        outcome="success",
                        context=AuditContext(via=_VIA),
                        target_reference=username,
                    )
                self.stdout.write(f"Set a new password for {username}")
            if role:
                user_role_change(actor=None, user=user, role=role)
                self.stdout.write(self.style.SUCCESS(f"Updated {username} with role {role}"))
            if deactivate:
                user_deactivate(actor=None, user=user)
                self.stdout.write(self.style.SUCCESS(f"Deactivated {username}"))
            if reactivate:
                user_reactivate(actor=None, user=user)
                self.stdout.write(self.style.SUCCESS(f"Reactivated {username}"))
        except UserChangeRefused as exc:
            raise CommandError(exc.message) from None

    def _create(self, username: str, email: str, role: str | None, password: str) -> None:
        if not role:
            raise CommandError(f"{username} does not exist: give --role to create it")
        if not password:
            raise CommandError("A new user needs a password (--password-stdin or BERTH_USER_PASSWORD)")
        user_create(actor=None, username=username, email=email, role=role, password=password, via=_VIA)
        self.stdout.write(self.style.SUCCESS(f"Created {username} with role {role}"))

    def _password(self, from_stdin: bool) -> str:
        if from_stdin:
            return sys.stdin.readline().rstrip("\n")
        return os.environ.get("BERTH_USER_PASSWORD", "")
