"""Login lockout policy on top of django-axes: a limit per username and a (higher) limit per address.

django-axes counts failed sign-ins per lockout parameter (here the username, and the client address
from config.middleware.client_ip) and compares the largest count with one limit, AXES_FAILURE_LIMIT.
One shared address (an office behind NAT) sees the failures of many people, so it gets a limit of its
own, LOGIN_FAILURE_LIMIT_PER_IP: get_failures() scales each parameter's count to AXES_FAILURE_LIMIT.
"""

from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off, get_lockout_parameters
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone


def _limits():
    return {"username": settings.AXES_FAILURE_LIMIT, "ip_address": settings.LOGIN_FAILURE_LIMIT_PER_IP}


def _parameter_name(parameter):
    return parameter if isinstance(parameter, str) else "+".join(parameter)


class LockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials=None):
        user_limit = settings.AXES_FAILURE_LIMIT
        limits = _limits()
        parameters = get_lockout_parameters(request, credentials)
        scaled = 0
        for parameter, attempts in zip(parameters, self.get_user_attempts(request, credentials)):
            count = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            limit = limits.get(_parameter_name(parameter), user_limit)
            # count >= limit  <=>  count * user_limit // limit >= user_limit
            scaled = max(scaled, count * user_limit // max(limit, 1))
        return scaled

    def time_until_unlocked(self, request, credentials=None):
        """How long until every locked parameter of this request is below its limit again (None: not locked)."""
        cool_off = get_cool_off(request)
        if cool_off is None:
            return None
        limits = _limits()
        now = timezone.now()
        longest = None
        for parameter, attempts in zip(get_lockout_parameters(request, credentials),
                                       self.get_user_attempts(request, credentials)):
            limit = limits.get(_parameter_name(parameter), settings.AXES_FAILURE_LIMIT)
            total = 0
            # A row counts until its latest failure is older than the cool-off: walking from the newest,
            # the row that brings the count to the limit is the one whose expiry unlocks.
            for failures, attempt_time in attempts.order_by("-attempt_time").values_list(
                    "failures_since_start", "attempt_time"):
                total += failures
                if total >= limit:
                    remaining = attempt_time + cool_off - now
                    longest = remaining if longest is None else max(longest, remaining)
                    break
        if longest is None:
            return None
        return max(longest, timedelta(seconds=0))
