"""A user agent that logs in and answers the consent page by posting the real forms, as a browser would.

Used by the samples in --non-interactive mode and by the tests.
"""

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms, self._current = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._current = {"action": attrs.get("action") or "", "fields": {}}
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and attrs.get("name"):
            if attrs.get("type") not in ("submit",):
                self._current["fields"][attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def forms_in(html):
    parser = _Forms()
    parser.feed(html)
    return parser.forms


class Browser:
    """Follows redirects itself so it can stop at the client's callback, which nothing serves."""

    def __init__(self):
        self.session = requests.Session()
        self.pages = []

    def get(self, url):
        return self._follow(self.session.get(url, allow_redirects=False))

    def post_form(self, page, extra=None, form_index=0):
        form = forms_in(page.text)[form_index]
        data = dict(form["fields"], **(extra or {}))
        return self._follow(self.session.post(urljoin(page.url, form["action"]) if form["action"] else page.url,
                                              data=data, allow_redirects=False, headers={"Referer": page.url}))

    def _follow(self, response, limit=10):
        for _ in range(limit):
            self.pages.append(response)
            if response.status_code not in (301, 302, 303) or self.is_callback(response.headers["Location"]):
                return response
            response = self.session.get(urljoin(response.url, response.headers["Location"]), allow_redirects=False)
        raise AssertionError("redirect loop")

    @staticmethod
    def is_callback(location):
        return "/oauth/" not in location and "/accounts/" not in location and location.startswith("http")

    def authorize(self, url, username, password, decision="allow"):
        """Open an authorization URL, log in if asked, answer the consent page; return the callback URL."""
        page = self.get(url)
        if page.status_code == 200 and 'name="password"' in page.text:
            page = self.post_form(page, {"username": username, "password": password})
        if page.status_code == 200 and "authorizationForm" in page.text:
            page = self.post_form(page, {decision: "Authorize" if decision == "allow" else "Deny"})
        assert page.status_code in (302, 303), f"no redirect to the client: HTTP {page.status_code}: {page.text[:300]}"
        return page.headers["Location"]


def callback_params(location):
    parts = urlsplit(location)
    query = parse_qs(parts.fragment or parts.query)
    return {k: v[0] for k, v in query.items()}


def csrf_token(html):
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    return match and match.group(1)
