import pytest

from batch_image_operator.models.armid import InvalidResourceId, parse_resource_id

SUB = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"
SNAP = f"/subscriptions/{SUB}/resourceGroups/rg-img/providers/Microsoft.Compute/snapshots/os-snap"


def test_parses_snapshot_id_into_segments():
    rid = parse_resource_id(SNAP, namespace="Microsoft.Compute", types=("snapshots",))
    assert (rid.subscription_id, rid.resource_group, rid.name) == (SUB, "rg-img", "os-snap")
    assert str(rid) == SNAP


def test_parses_nested_gallery_version():
    raw = (f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/"
           "galleries/gal/images/def/versions/1.0.0")
    rid = parse_resource_id(raw)
    assert rid.types == ("galleries", "images", "versions")
    assert rid.name == "1.0.0"


@pytest.mark.parametrize("raw", [
    SNAP + "/../../../../other",                       # traversal
    SNAP.replace("os-snap", ".."),                      # dot-dot name
    SNAP + "?api-version=2020-01-01",                   # query string
    SNAP + "#frag",
    SNAP.replace("os-snap", "os%2Fsnap"),               # encoded separator
    SNAP.replace(SUB, "not-a-guid"),                    # foreign/garbage subscription
    "https://evil.example" + SNAP,                      # absolute URL
    SNAP.replace("/subscriptions/", "/subscriptions//"),
    "",
    "/subscriptions/" + SUB,
])
def test_rejects_hostile_ids(raw):
    with pytest.raises(InvalidResourceId):
        parse_resource_id(raw)


def test_enforces_expected_type():
    with pytest.raises(InvalidResourceId):
        parse_resource_id(SNAP, namespace="Microsoft.Compute", types=("images",))
    with pytest.raises(InvalidResourceId):
        parse_resource_id(SNAP, namespace="Microsoft.Batch")


# --- ARM is case-insensitive: any case in, Azure's canonical spelling out ---------------

RG_ = f"/subscriptions/{SUB}/resourceGroups/rg-img/providers"


@pytest.mark.parametrize("canonical", [
    SNAP,
    f"{RG_}/Microsoft.Compute/images/ubuntu-hpc",
    f"{RG_}/Microsoft.Compute/virtualMachines/prep-vm",
    f"{RG_}/Microsoft.Compute/disks/prep-vm-os",
    f"{RG_}/Microsoft.Compute/galleries/gal/images/def/versions/1.0.0",
    f"{RG_}/Microsoft.Batch/batchAccounts/batchdemo/pools/render-pool",
    f"{RG_}/Microsoft.Network/virtualNetworks/vnet/subnets/batch",
    f"{RG_}/Microsoft.Storage/storageAccounts/packerbuilds",
])
@pytest.mark.parametrize("spell", [str.lower, str.upper, str.swapcase])
def test_fixed_parts_in_any_case_normalise_to_azures_spelling(canonical, spell):
    # Names (and the subscription, resource group) keep their case; the rest is re-spelled.
    prefix = f"/subscriptions/{SUB}/resourceGroups/rg-img/providers/"
    tail = canonical.removeprefix(prefix).split("/")  # namespace, then type/name pairs
    respelled = [spell(p) if i == 0 or i % 2 else p for i, p in enumerate(tail)]
    raw = spell("/subscriptions/") + SUB + spell("/resourceGroups/") + "rg-img" \
        + spell("/providers/") + "/".join(respelled)
    rid = parse_resource_id(raw)
    assert str(rid) == canonical
    assert (rid.subscription_id, rid.resource_group) == (SUB, "rg-img")


def test_case_insensitive_namespace_and_type_requirements():
    raw = SNAP.replace("Microsoft.Compute/snapshots", "microsoft.compute/SNAPSHOTS")
    rid = parse_resource_id(raw, namespace="Microsoft.Compute", types=("snapshots",))
    assert rid.namespace == "Microsoft.Compute" and rid.path == (("snapshots", "os-snap"),)


def test_unknown_namespaces_and_types_keep_their_case():
    raw = f"{RG_}/Contoso.Widgets/gadgetThings/g1"
    assert str(parse_resource_id(raw)) == raw
    known_ns = f"{RG_}/microsoft.compute/diskEncryptionSETS/des"
    assert str(parse_resource_id(known_ns)) == f"{RG_}/Microsoft.Compute/diskEncryptionSETS/des"


# --- errors are sentences a user can act on -----------------------------------------------

def test_error_names_the_expected_form_the_id_and_the_problem():
    bad = SNAP.replace(SUB, "not-a-guid").replace("snapshots", "images")
    with pytest.raises(InvalidResourceId) as err:
        parse_resource_id(bad, namespace="Microsoft.Compute", types=("images",))
    assert str(err.value) == (
        "expected /subscriptions/<guid>/resourceGroups/<name>/providers/Microsoft.Compute/"
        f"images/<name>, got '{bad}': the subscription must be a GUID")


def test_error_quotes_a_long_or_unprintable_id_briefly():
    with pytest.raises(InvalidResourceId) as err:
        parse_resource_id(SNAP + "/x" * 200 + "\x00")
    message = str(err.value)
    assert "\x00" not in message and "..." in message and len(message) < 400
    with pytest.raises(InvalidResourceId, match="got a NoneType: an ARM id is a string"):
        parse_resource_id(None)  # type: ignore[arg-type]


# --- each validation layer, reached by an id that passes every other layer ---------------

def snap(sub=SUB, rg="rg-img", ns="Microsoft.Compute", rtype="snapshots", name="os-snap"):
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/{rtype}/{name}"


def test_the_layer_helper_builds_a_valid_id():
    assert str(parse_resource_id(snap())) == SNAP


LAYERS = [
    # (id, what the refusal must say) -- one layer fails, all others pass
    (snap(name="os?snap"), "may not contain"),
    (snap(name="os#snap"), "may not contain"),
    (snap(name="os%2Fsnap"), "may not contain"),
    (snap(name="os\\snap"), "may not contain"),
    (snap(name="os snap"), "may not contain"),
    (snap(name="os\tsnap"), "may not contain"),
    ("https://management.azure.com" + SNAP, "must start with /subscriptions/"),
    (SNAP.removeprefix("/"), "must start with /subscriptions/"),
    (snap(rg="rg-img/"), "may not have empty segments"),
    (f"/subscriptions/{SUB}/resourceGroups/rg-img/providers/Microsoft.Compute",
     "must go on to /resourceGroups/<name>/providers/<namespace>/<type>/<name>"),
    (SNAP.replace("resourceGroups", "resourceGroupz"), "must be followed by /resourceGroups/"),
    (SNAP.replace("providers", "provider"), "must be followed by /resourceGroups/"),
    (SNAP + "/extra", "exactly one name"),
    (snap(rtype="snapshots/os-snap/../snapshots"), "exactly one name"),
    (snap(sub="not-a-guid"), "the subscription must be a GUID"),
    (snap(sub=SUB.replace("f", "g")), "the subscription must be a GUID"),
    (snap(sub=SUB + "0"), "the subscription must be a GUID"),
    (snap(rg=".."), "'..' is not a resource group name"),
    (snap(rg="."), "'.' is not a resource group name"),
    (snap(rg="rg-img."), "is not a resource group name"),
    (snap(rg="a" * 91), "is not a resource group name"),
    (snap(rg="rg$img"), "is not a resource group name"),
    (snap(ns="Microsoft"), "'Microsoft' is not a provider namespace"),
    (snap(ns="Microsoft..Compute"), "is not a provider namespace"),
    (snap(ns="1Microsoft.Compute"), "is not a provider namespace"),
    (snap(rtype="snap-shots"), "'snap-shots' is not a resource type"),
    (snap(rtype="1snapshots"), "is not a resource type"),
    (snap(rtype=".."), "'..' is not a resource type"),
    (snap(name=".."), "'..' is not a resource name"),
    (snap(name="."), "'.' is not a resource name"),
    (snap(name="-os"), "is not a resource name"),
    (snap(name="a" * 81), "is not a resource name"),
    (snap(name="os\u2025snap"), "is not a resource name"),
    (f"{RG_}/Microsoft.Compute/galleries/gal/images/../versions/1.0.0",
     "'..' is not a resource name"),
]


@pytest.mark.parametrize(("raw", "reason"), LAYERS)
def test_each_layer_refuses_on_its_own(raw, reason):
    with pytest.raises(InvalidResourceId) as err:
        parse_resource_id(raw)
    assert reason in str(err.value)
    assert str(err.value).startswith("expected /subscriptions/<guid>/resourceGroups/<name>/")


def test_namespace_requirement_on_its_own():
    with pytest.raises(InvalidResourceId) as err:
        parse_resource_id(SNAP, namespace="Microsoft.Batch")
    assert str(err.value).endswith(
        "it names a Microsoft.Compute resource, not a Microsoft.Batch one")
    assert "providers/Microsoft.Batch/<type>/<name>" in str(err.value)


def test_type_requirement_on_its_own():
    with pytest.raises(InvalidResourceId) as err:
        parse_resource_id(SNAP, namespace="Microsoft.Compute", types=("images",))
    assert str(err.value).endswith("it names a Microsoft.Compute/snapshots resource")
    nested = f"{RG_}/Microsoft.Compute/galleries/gal/images/def"
    with pytest.raises(InvalidResourceId, match="Compute/galleries/images resource"):
        parse_resource_id(nested, types=("galleries", "images", "versions"))
