"""Create or update a user with a role, for scripts and first setup.

python manage.py berth_user alice --role operator --password-stdin < secret.txt
BERTH_USER_PASSWORD=... python manage.py berth_user alice --role admin
"""

from __future__ import annotations

import os
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from images_app.roles import ADMIN, ROLES, assign_role, role_of
from images_app.services.audit import audit_record


class Command(BaseCommand):
    help = "Create a user with a role (viewer, operator, admin), or change an existing user's role."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("username")
        parser.add_argument("--role", choices=ROLES, required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--password-stdin", action="store_true", help="Read the password from standard input")
        parser.add_argument(
            "--no-validate", action="store_true", help="Skip Django's password validators (test setups)"
        )

    def handle(
        self, *args, username: str, role: str, email: str, password_stdin: bool, no_validate: bool, **options
    ) -> None:
        password = self._password(password_stdin)
        user_model = get_user_model()
        with transaction.atomic():
            user = user_model.objects.filter(username=username).first()
            created = user is None
            if created:
                user = user_model(username=username, email=email)
            if password:
                if not no_validate:
                    try:
                        validate_password(password, user)
                    except ValidationError as exc:
                        raise CommandError("Password rejected: " + " ".join(exc.messages)) from None
                user.set_password(password)
            elif created:
                raise CommandError("A new user needs a password (--password-stdin or BERTH_USER_PASSWORD)")
            user.is_staff = role == ADMIN
            user.is_active = True
            user.save()
            previous = None if created else role_of(user)
            assign_role(user, role)
            audit_record(
                action="user_created" if created else "user_role_changed",
                outcome="success",
                actor_name="system",
                target_reference=username,
                parameters={"role": role, "previous_role": previous, "via": "manage.py berth_user"},
            )
        verb = "Created" if created else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} {username} with role {role}"))

    def _password(self, from_stdin: bool) -> str:
        if from_stdin:
            return sys.stdin.readline().rstrip("\n")
        return os.environ.get("BERTH_USER_PASSWORD", "")
