"""Region display names, as Compute galleries echo them (``eastus2`` -> ``East US 2``)."""

from __future__ import annotations

DISPLAY = {
    "eastus": "East US", "eastus2": "East US 2", "westus": "West US", "westus2": "West US 2",
    "westus3": "West US 3", "centralus": "Central US", "northcentralus": "North Central US",
    "southcentralus": "South Central US", "westcentralus": "West Central US",
    "canadacentral": "Canada Central", "brazilsouth": "Brazil South",
    "northeurope": "North Europe", "westeurope": "West Europe", "uksouth": "UK South",
    "ukwest": "UK West", "francecentral": "France Central",
    "germanywestcentral": "Germany West Central", "swedencentral": "Sweden Central",
    "switzerlandnorth": "Switzerland North", "norwayeast": "Norway East",
    "eastasia": "East Asia", "southeastasia": "Southeast Asia", "japaneast": "Japan East",
    "japanwest": "Japan West", "koreacentral": "Korea Central", "centralindia": "Central India",
    "australiaeast": "Australia East", "southafricanorth": "South Africa North",
}


def display_name(region: str) -> str:
    """The display name of a region given either way; unknown names come back as given."""
    return DISPLAY.get(region.replace(" ", "").lower(), region)
