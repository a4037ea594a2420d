from pathlib import Path

import pytest

from batch_image_operator.config import ConfigError, CredentialSettings, Settings

SUB = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"


def test_settings_from_emulator_style_env():
    s = Settings.from_env({"AZURE_SUBSCRIPTION_ID": SUB,
                           "AZURE_RESOURCE_MANAGER_ENDPOINT": "https://127.0.0.1:8443/",
                           "AZURE_CA_BUNDLE": "/tmp/ca.pem", "BIO_POLL_INTERVAL": "0.5",
                           "BIO_NAMESPACES": "team-a, team-b",
                           "BIO_ALLOWLIST_FILE": "unrestricted"})
    assert s.arm_endpoint == "https://127.0.0.1:8443"
    assert s.poll_interval == 0.5
    assert s.namespaces == ("team-a", "team-b")
    assert s.arm_scope == "https://management.azure.com/.default"
    assert not s.allowlist.restricted
    assert s.batch_endpoint_suffix == "batch.azure.com"
    assert s.namespace_credential_fallback == "deny"


@pytest.mark.parametrize("env", [
    {},
    {"AZURE_SUBSCRIPTION_ID": "nope"},
    {"AZURE_SUBSCRIPTION_ID": SUB, "AZURE_RESOURCE_MANAGER_ENDPOINT": "http://plain"},
    {"AZURE_SUBSCRIPTION_ID": SUB, "BIO_POLL_INTERVAL": "-1"},
])
def test_bad_settings_are_refused(env):
    with pytest.raises(ConfigError):
        Settings.from_env(env)


@pytest.mark.parametrize("key", ["BIO_AZURE_CONNECTIONS", "BIO_KUBE_CONNECTIONS"])
@pytest.mark.parametrize("value", ["0.5", "0", "-2"])
def test_a_connection_pool_of_less_than_one_is_refused_at_startup(key, value):
    # Below one the pool's fair share (azure/connections.py, kube/session.py and the
    # take-up of new objects) could grant nothing.
    with pytest.raises(ConfigError, match=key):
        Settings.from_env({"AZURE_SUBSCRIPTION_ID": SUB, "BIO_ALLOWLIST_FILE": "unrestricted",
                           key: value})


def test_credential_routes():
    base = {"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c"}
    assert CredentialSettings.from_env({**base, "AZURE_FEDERATED_TOKEN_FILE": "/f",
                                        "AZURE_CLIENT_SECRET": "s"}).route == "workload-identity"
    assert CredentialSettings.from_env({**base, "AZURE_CLIENT_SECRET": "s"}).route == \
        "client-secret"
    assert CredentialSettings.from_env({}).route == "managed-identity"
    assert CredentialSettings.from_env(
        {"AZURE_AUTHORITY_HOST": "https://127.0.0.1:9"}).custom_authority
    assert not CredentialSettings.from_env(
        {"AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com"}).custom_authority


BASE = {"AZURE_SUBSCRIPTION_ID": SUB}


def test_an_unset_allow_list_is_a_startup_error_that_says_how_to_choose():
    with pytest.raises(ConfigError) as err:
        Settings.from_env(BASE)
    assert "set BIO_ALLOWLIST_FILE to a file, or to 'unrestricted'" in str(err.value)


@pytest.mark.parametrize("text", ["", "\n\n", "# all teams\n# (to do)\n", "{}\n", "---\n"])
def test_an_empty_or_comment_only_allow_list_file_is_a_startup_error(tmp_path: Path, text):
    path = tmp_path / "allow.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="empty") as err:
        Settings.from_env({**BASE, "BIO_ALLOWLIST_FILE": str(path)})
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("make", [
    lambda d: d / "absent.yaml",                                   # missing
    lambda d: d,                                                   # a directory
    lambda d: (d / "bin.yaml").write_bytes(b"\xff\xfe: [x]") and d / "bin.yaml",
    lambda d: (d / "bad.yaml").write_text("a: [b\n  c: {") and d / "bad.yaml",
])
def test_an_unreadable_allow_list_is_a_one_line_startup_error(tmp_path: Path, make):
    path = make(tmp_path)
    with pytest.raises(ConfigError) as err:
        Settings.from_env({**BASE, "BIO_ALLOWLIST_FILE": str(path)})
    assert "BIO_ALLOWLIST_FILE" in str(err.value) and "\n" not in str(err.value)


def test_unrestricted_is_an_explicit_value_and_a_file_restricts(tmp_path: Path):
    assert not Settings.from_env({**BASE, "BIO_ALLOWLIST_FILE": "unrestricted"}
                                 ).allowlist.restricted
    path = tmp_path / "allow.yaml"
    path.write_text(f'"*": [/subscriptions/{SUB}]\n')
    assert Settings.from_env({**BASE, "BIO_ALLOWLIST_FILE": str(path)}).allowlist.restricted


OPEN = {**BASE, "BIO_ALLOWLIST_FILE": "unrestricted"}


@pytest.mark.parametrize(("raw", "suffix"), [
    (None, "batch.azure.com"), ("batch.usgovcloudapi.net", "batch.usgovcloudapi.net"),
    (".Batch.ChinaCloudAPI.cn", "batch.chinacloudapi.cn"), ("127.0.0.1:8443", "127.0.0.1:8443"),
])
def test_batch_endpoint_suffix(raw, suffix):
    env = OPEN if raw is None else {**OPEN, "AZURE_BATCH_ENDPOINT_SUFFIX": raw}
    assert Settings.from_env(env).batch_endpoint_suffix == suffix


@pytest.mark.parametrize("bad", ["https://batch.azure.com", "batch.azure.com/x", "*.azure.com",
                                 "batch azure", "host:port"])
def test_a_bad_batch_endpoint_suffix_is_refused(bad):
    with pytest.raises(ConfigError, match="AZURE_BATCH_ENDPOINT_SUFFIX"):
        Settings.from_env({**OPEN, "AZURE_BATCH_ENDPOINT_SUFFIX": bad})


def test_namespace_credential_settings():
    s = Settings.from_env({**OPEN, "BIO_NAMESPACE_CREDENTIAL_FALLBACK": "operator",
                           "BIO_CREDENTIAL_CACHE_SIZE": "5"})
    assert (s.namespace_credential_fallback, s.credential_cache_size) == ("operator", 5)
    with pytest.raises(ConfigError, match="BIO_NAMESPACE_CREDENTIAL_FALLBACK"):
        Settings.from_env({**OPEN, "BIO_NAMESPACE_CREDENTIAL_FALLBACK": "allow"})


COUNTS = ["BIO_AZURE_CONNECTIONS", "BIO_KUBE_CONNECTIONS", "BIO_AZURE_RETRY_TOTAL",
          "BIO_MAX_RESIZE_ATTEMPTS", "BIO_LIMIT_DEDICATED", "BIO_LIMIT_LOW_PRIORITY",
          "BIO_LIMIT_NAT_DEDICATED", "BIO_LIMIT_NAT_LOW_PRIORITY", "BIO_CREDENTIAL_CACHE_SIZE"]


@pytest.mark.parametrize("key", COUNTS)
@pytest.mark.parametrize("value", ["0.5", "2.5", "0", "ten"])
def test_every_count_is_a_whole_number_of_at_least_one(key, value):
    # Read as seconds, a limit of 0.5 became 0 (every pool refused) and 2.5 became 2.
    with pytest.raises(ConfigError, match=f"{key} must be a whole number of at least 1"):
        Settings.from_env({"AZURE_SUBSCRIPTION_ID": SUB, "BIO_ALLOWLIST_FILE": "unrestricted",
                           key: value})


def test_counts_are_read_as_given():
    settings = Settings.from_env({"AZURE_SUBSCRIPTION_ID": SUB,
                                  "BIO_ALLOWLIST_FILE": "unrestricted",
                                  **dict.fromkeys(COUNTS, "7")})
    assert (settings.azure_connections, settings.kube_connections, settings.retry_total,
            settings.max_resize_attempts, settings.credential_cache_size) == (7, 7, 7, 7, 7)
    assert settings.limits.dedicated == settings.limits.nat_low_priority == 7
