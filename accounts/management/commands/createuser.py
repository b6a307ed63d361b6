import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create a resource owner. The password is read from standard input, never from the command line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
        parser.add_argument("--staff", action="store_true", help="may log in to the admin")
        parser.add_argument("--superuser", action="store_true")

    def handle(self, *args, username, email, password_stdin, staff, superuser, **options):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise CommandError(f"user {username!r} already exists")
        password = None
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("no password on standard input")
        user = User(username=username, email=email, is_staff=staff or superuser, is_superuser=superuser)
        if password:
            try:
                validate_password(password, user)
            except ValidationError as e:
                raise CommandError("password refused: " + " ".join(e.messages))
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        self.stdout.write(f"created user {username} (id {user.pk})")
