-- wrk script for bench/dashboard.sh: GET /dashboard/summary of a random user among the first
-- USERS (environment), with the tenant's secret key (SECRET).
local users = tonumber(os.getenv("USERS") or "1000")
local secret = os.getenv("SECRET") or ""
local width = tonumber(os.getenv("WIDTH") or "4")  -- user ids are zero-padded to this width

init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

request = function()
  local user = string.format("user-%0" .. width .. "d", math.random(1, users))
  return wrk.format("GET", "/dashboard/summary?user_id=" .. user,
                    { ["Authorization"] = "Bearer " .. secret })
end
