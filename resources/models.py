"""What the resource server holds: the owners' photos, and the routes the gateway forwards to upstream APIs."""

import re
import uuid
from pathlib import PurePath
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator, MaxValueValidator, MinValueValidator, URLValidator
from django.db import models, transaction
from django.db.models import Q

from oauth_server.models import Scope, scope_name_validator
from oauth_server.rows import Columns, RowQuery

PHOTO_EXTENSIONS = ["jpg", "jpeg", "png", "gif", "webp"]
PHOTO_MAX_BYTES = 10 * 1024 * 1024


def photo_upload_to(photo, filename):
    """A random file name: uploaded names are neither trusted nor guessable."""
    return f"photos/{uuid.uuid4().hex}{PurePath(filename).suffix.lower()}"


class Photo(models.Model):
    """One picture in a resource owner's album: a link to an image or an uploaded file, never both."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="photos")
    title = models.CharField(max_length=200)
    image_url = models.URLField(max_length=2000, blank=True, validators=[URLValidator(schemes=["http", "https"])])
    image = models.FileField(upload_to=photo_upload_to, blank=True,
                             validators=[FileExtensionValidator(PHOTO_EXTENSIONS)])
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(image="") & ~Q(image_url="")) | (~Q(image="") & Q(image_url="")),
                name="photo_has_url_or_file",
                violation_error_message="A photo has either an image URL or an uploaded file, not both.",
            ),
        ]

    def __str__(self):
        return self.title

    def delete(self, *args, **kwargs):
        """Delete the row, then its uploaded file once the deletion is committed."""
        image = self.image
        result = super().delete(*args, **kwargs)
        if image:
            transaction.on_commit(lambda: image.storage.delete(image.name))
        return result

    def clean(self):
        super().clean()
        error = image_source_error(image_url=self.image_url, image=self.image)
        if error:
            raise ValidationError(error)


def image_source_error(*, image_url, image):
    """Why this pair of image sources is not acceptable, or None."""
    if bool(image_url) == bool(image):
        return "Give either an image URL or an uploaded file, not both."
    if image and image.size > PHOTO_MAX_BYTES:
        return f"An uploaded image may be at most {PHOTO_MAX_BYTES // (1024 * 1024)} MiB."
    return None


# --- gateway routes ---------------------------------------------------------------------------

# RFC 9110 §9.1 and §5.6.2: a method name is a token; we take the upper-case spelling of the registered ones.
METHOD_RE = re.compile(r"[A-Z][A-Z0-9_-]*")


def default_route_timeout():
    return settings.GATEWAY_DEFAULT_TIMEOUT


class GatewayRouteManager(models.Manager):
    def serving(self, prefix):
        """The enabled route for a path prefix, or None: one lookup on a unique index, read on every call
        (so a route disabled in admin answers 404 at once), by SQL compiled once (oauth_server/rows.py)."""
        found = ROUTE_BY_PREFIX.fetch_one([prefix])
        return found[0] if found else None


def _route_by_prefix_query():
    route = Columns(GatewayRoute, "r")
    sql = (f"SELECT {route.select_list()} FROM {route.table_as_alias()}"
           f" WHERE {route.column('prefix')} = %s AND {route.column('enabled')}")
    return [route], sql


ROUTE_BY_PREFIX = RowQuery(_route_by_prefix_query)


class GatewayRoute(models.Model):
    """An upstream HTTP API served under /gateway/<prefix>/, with the scopes each HTTP method needs."""

    name = models.CharField(max_length=100)
    prefix = models.SlugField(max_length=64, unique=True, help_text="Served under /gateway/<prefix>/.")
    upstream_url = models.URLField(
        max_length=500, validators=[URLValidator(schemes=["http", "https"])],
        help_text="Base URL; the rest of the path after the prefix is appended to it.",
    )
    required_scopes = models.JSONField(
        default=dict,
        help_text='Scopes a token needs, per HTTP method, e.g. {"GET": ["photos"], "POST": ["photos/write"]}. '
                  "A method not listed is refused with 405; an empty list admits any valid token. "
                  "HEAD follows GET unless listed.",
    )
    enabled = models.BooleanField(default=True, help_text="A disabled route answers 404.")
    timeout = models.FloatField(
        default=default_route_timeout, validators=[MinValueValidator(0.1), MaxValueValidator(600)],
        help_text="Seconds to wait for the upstream to connect, and between bytes of its answer.",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = GatewayRouteManager()

    class Meta:
        ordering = ["prefix"]
        verbose_name = "gateway route"

    def __str__(self):
        return f"/gateway/{self.prefix}/ → {self.upstream_url}"

    def scopes_for(self, method):
        """The scopes `method` needs, or None when the route does not offer it."""
        if method == "HEAD" and "HEAD" not in self.required_scopes:
            method = "GET"  # RFC 9110 §9.3.2: HEAD is GET without the content
        return self.required_scopes.get(method)

    @property
    def allowed_methods(self):
        methods = set(self.required_scopes)
        if "GET" in methods:
            methods.add("HEAD")
        return sorted(methods)

    def upstream_url_for(self, rest, query_string):
        """The upstream URL for the path rest after the prefix (a quoted path, '' or starting with '/')."""
        url = self.upstream_url.rstrip("/") + rest
        return f"{url}?{query_string}" if query_string else url

    def clean(self):
        super().clean()
        errors = {}
        if urlsplit(self.upstream_url).query or urlsplit(self.upstream_url).fragment:
            errors["upstream_url"] = "The upstream URL is a base: no query string or fragment."
        scope_errors = required_scopes_errors(self.required_scopes)
        if scope_errors:
            errors["required_scopes"] = scope_errors
        if errors:
            raise ValidationError(errors)


def required_scopes_errors(rules):
    """What is wrong with a {METHOD: [scope, ...]} mapping: a list of messages, empty when it is valid."""
    if not isinstance(rules, dict) or not rules:
        return ['Map at least one HTTP method to its scopes, e.g. {"GET": ["photos"]}.']
    errors = []
    names = set()
    for method, scopes in rules.items():
        if not isinstance(method, str) or not METHOD_RE.fullmatch(method):
            errors.append(f"{method!r} is not an upper-case HTTP method name.")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            errors.append(f"The scopes for {method} must be a list of scope names.")
            continue
        for scope in scopes:
            try:
                scope_name_validator(scope)
            except ValidationError:
                errors.append(f"{scope!r} is not a valid scope name.")
        names.update(scopes)
    unknown = names - set(Scope.objects.filter(name__in=names).values_list("name", flat=True))
    if unknown:
        errors.append(f"Unknown scope(s): {', '.join(sorted(unknown))} (create them with manage.py createscope).")
    return errors


def route_save(*, prefix, upstream_url, required_scopes, name=None, timeout=None, enabled=True):
    """Create the route for `prefix`, or replace what an existing one says. Validated. Returns (route, created)."""
    route = GatewayRoute.objects.filter(prefix=prefix).first() or GatewayRoute(prefix=prefix)
    created = route.pk is None
    route.name = name or route.name or prefix
    route.upstream_url = upstream_url
    route.required_scopes = required_scopes
    route.enabled = enabled
    if timeout is not None:
        route.timeout = timeout
    route.full_clean()
    route.save()
    return route, created
