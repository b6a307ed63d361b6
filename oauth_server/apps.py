from django.apps import AppConfig


class OAuthServerConfig(AppConfig):
    name = "oauth_server"
    verbose_name = "OAuth server"
