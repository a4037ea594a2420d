"""Where the metrics and health endpoints listen: loopback unless told otherwise."""

from __future__ import annotations

import pytest

from batch_image_operator.config import ConfigError, Settings

SUB = {"AZURE_SUBSCRIPTION_ID": "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8",
       "BIO_ALLOWLIST_FILE": "unrestricted"}


def test_a_bare_operator_listens_on_loopback_only() -> None:
    settings = Settings.from_env(SUB)
    assert settings.metrics_host == "127.0.0.1"
    assert settings.health_host == "127.0.0.1"


def test_both_bind_hosts_are_configurable() -> None:
    settings = Settings.from_env({**SUB, "BIO_METRICS_HOST": "0.0.0.0",
                                  "BIO_HEALTH_HOST": "::"})
    assert (settings.metrics_host, settings.health_host) == ("0.0.0.0", "::")


@pytest.mark.parametrize("value", ["http://0.0.0.0", "0.0.0.0:8080x", "a b", "host/path"])
def test_a_bind_host_that_is_not_an_address_is_a_configuration_error(value: str) -> None:
    with pytest.raises(ConfigError, match="BIO_HEALTH_HOST"):
        Settings.from_env({**SUB, "BIO_HEALTH_HOST": value})
