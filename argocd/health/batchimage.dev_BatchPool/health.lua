-- Argo CD health check for batchimage.dev/v1alpha1 BatchPool (batch-image-operator).
-- Install: resource.customizations.health.batchimage.dev_BatchPool in argocd-cm
-- (see argocd/argocd-cm-patch.yaml). Lua 5.1, no libraries beyond string.
local hs = {}

local TERMINAL = {
  InvalidSpec = "the spec is invalid; fix it and re-apply",
  ImmutableFieldChanged = "vmSize or image changed; revert it or recreate the pool",
  ProvisioningFailed = "Azure failed to provision the pool",
  ImageMissing = "the pool's image is gone, so resizes fail with AllocationFailed",
  NotAllowed = "the operator's allow-list forbids this subscription or resource group",
  CredentialError = "the namespace's Azure credential Secret is unusable",
  AzureAuthError = "check the operator's Azure identity and role assignments",
  AzureRequestRejected = "Azure refuses the request until a human acts; the message says what to change",
  ExistsNotOwned = "an Azure resource of that name exists and is not this object's; adopt it (batchimage.dev/adopt) or rename",
  OwnedByAnother = "the Azure resource of that name belongs to another object; choose another name",
  QuotaExceeded = "the namespace's cap on pools or nodes refuses this pool",
  ResizeAttemptsExhausted = "the pool stayed below target after every resize attempt",
  UnusableNodes = "nodes are unusable or failed their start task",
  ResizeStopped = "a resize was stopped by hand; edit the spec to resize again",
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

if obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Deleting the Azure Batch pool"
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

local limits = condition(status, "WithinLimits")
if limits ~= nil and limits.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(limits)
    .. " (custom-image node limits: 2500 dedicated / 1000 low-priority per image lineage)"
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
