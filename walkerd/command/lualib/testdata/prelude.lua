local ser
ser = function(v)
  local t = type(v)
  if t == 'string' then
    return '"' .. (string.gsub(v, '[^ -~]', function(c) return string.format('\\x%02x', string.byte(c)) end)) .. '"'
  elseif t == 'number' then
    if v ~= v then return 'nan' elseif v == 1/0 then return 'inf' elseif v == -1/0 then return '-inf' end
    return string.format('%.17g', v)
  elseif t == 'table' then
    local parts = {}
    for k, x in pairs(v) do parts[#parts + 1] = ser(k) .. '=' .. ser(x) end
    table.sort(parts)
    return '{' .. table.concat(parts, ',') .. '}'
  elseif v == cjson.null then
    return 'NULL'
  end
  return t
end
local function pack(...) return select('#', ...), {...} end
local n, res = pack(pcall(function() BODY end))
if not res[1] then return 'ERR ' .. ser(res[2]) end
local out = {}
for i = 2, n do out[#out + 1] = ser(res[i]) end
return table.concat(out, ' ')
