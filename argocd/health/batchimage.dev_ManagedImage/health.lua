-- Argo CD health check for batchimage.dev/v1alpha1 ManagedImage (batch-image-operator).
-- Install: resource.customizations.health.batchimage.dev_ManagedImage in argocd-cm
-- (see argocd/argocd-cm-patch.yaml). Lua 5.1, no libraries beyond string.
local hs = {}

local TERMINAL = {
  InvalidSpec = "the spec is invalid; fix it and re-apply",
  ImmutableFieldChanged = "an immutable field changed; revert it or recreate the object",
  ProvisioningFailed = "Azure failed to provision the image",
  ImageMissing = "the Azure image is gone",
  NotAllowed = "the operator's allow-list forbids this subscription or resource group",
  CredentialError = "the namespace's Azure credential Secret is unusable",
  AzureAuthError = "check the operator's Azure identity and role assignments",
  AzureRequestRejected = "Azure refuses the request until a human acts; the message says what to change",
  ExistsNotOwned = "an Azure resource of that name exists and is not this object's; adopt it (batchimage.dev/adopt) or rename",
  OwnedByAnother = "the Azure resource of that name belongs to another object; choose another name",
  PublishBlocked = "gallery publishing needs a change to the spec",
  SourceNotFound = "the source VM does not exist",
  SnapshotNotFound = "a source snapshot does not exist",
  SnapshotFailed = "a snapshot ended Failed (on every attempt, for a captured VM)",
  PurchasePlan = "the source VM's image has a purchase plan",
  UnmanagedDisks = "the source VM must use managed disks",
  ExtensionsInstalled = "remove the source VM's extensions",
  OsDiskEncrypted = "the source VM's OS disk is encrypted",
  RegionMismatch = "the source is in another region",
  BaseImageNotMarketplace = "the source VM must come from a Marketplace image",
  UnsupportedBaseImage = "the source VM's base image is not supported by Batch",
}

local function condition(status, ctype)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end

local function describe(c)
  local text = c.reason or "Unknown"
  if c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  return text
end


local annotations = obj.metadata.annotations or {}
local status = obj.status

if annotations["batchimage.dev/paused"] == "true" then
  hs.status = "Suspended"
  hs.message = "Reconciliation paused (annotation batchimage.dev/paused=true)"
  return hs
end

local blocked = condition(status, "DeletionBlocked")
if obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  if blocked ~= nil and blocked.status == "True" then
    hs.message = "Deletion blocked until the BatchPools using this image are gone: "
      .. (blocked.message or "")
  else
    hs.message = "Deleting the Azure image"
  end
  return hs
end

local ready = condition(status, "Ready")
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end

local generation = obj.metadata.generation
local observed = status.observedGeneration or ready.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  return hs
end

if ready.status == "False" then
  local hint = TERMINAL[ready.reason or ""]
  if hint ~= nil then
    hs.status = "Degraded"
    hs.message = describe(ready) .. " (" .. hint .. ")"
    return hs
  end
end

hs.status = "Progressing"
hs.message = describe(ready)
return hs
