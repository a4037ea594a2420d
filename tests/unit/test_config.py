import pytest

from batch_image_operator.config import ConfigError, CredentialSettings, Settings

SUB = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"


def test_settings_from_emulator_style_env():
    s = Settings.from_env({"AZURE_SUBSCRIPTION_ID": SUB,
                           "AZURE_RESOURCE_MANAGER_ENDPOINT": "https://127.0.0.1:8443/",
                           "AZURE_CA_BUNDLE": "/tmp/ca.pem", "BIO_POLL_INTERVAL": "0.5",
                           "BIO_NAMESPACES": "team-a, team-b"})
    assert s.arm_endpoint == "https://127.0.0.1:8443"
    assert s.poll_interval == 0.5
    assert s.namespaces == ("team-a", "team-b")
    assert s.arm_scope == "https://management.azure.com/.default"


@pytest.mark.parametrize("env", [
    {},
    {"AZURE_SUBSCRIPTION_ID": "nope"},
    {"AZURE_SUBSCRIPTION_ID": SUB, "AZURE_RESOURCE_MANAGER_ENDPOINT": "http://plain"},
    {"AZURE_SUBSCRIPTION_ID": SUB, "BIO_POLL_INTERVAL": "-1"},
])
def test_bad_settings_are_refused(env):
    with pytest.raises(ConfigError):
        Settings.from_env(env)


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
