#!/usr/bin/env lua5.2
--[[
lua_http_client.lua: pollhttp's lua-http peer on the client side, for the interop tests.

    lua5.2 tests/peers/lua_http_client.lua [OPTION]... URL [BODY]

Sends one request and prints the response. Without BODY the request is a GET; with BODY it is
a POST of those bytes (content-type application/octet-stream), or of a file's bytes when BODY
is "@PATH". lua-http adds "Expect: 100-continue" to bodies over 1 KiB.

Options:
  --http1.0, --http1.1, --http2   the version to speak (--http2 on http:// is prior knowledge)
  --method METHOD                 another method (HEAD, PUT, ...)
  --timeout SECONDS               deadline for the request and for its body (default 10)
  --no-redirect                   do not follow a 3xx
  --no-expect                     never send "Expect: 100-continue"

Output on stdout: "HTTP/<1.0|1.1|2> <status>", then one "name: value" line per header (no
pseudo-headers), an empty line, and the body, with a newline added when a non-empty body
does not end in one. Exit status: 0 when a response came, 1 when the connection or the
protocol failed, 2 for a bad command line. Proxies from the environment are never used.
Needs Debian's lua-http and lua5.2 (scripts/install-peers.sh).
]]

local http_request = require "http.request"

local USAGE = "usage: lua5.2 lua_http_client.lua [--http1.0|--http1.1|--http2] [--method M]"
	.. " [--timeout S] [--no-redirect] [--no-expect] URL [BODY|@FILE]\n"

local function usage_error()
	io.stderr:write(USAGE)
	os.exit(2)
end

local function fail(what, err, errno)
	io.stderr:write(string.format("%s: %s (errno %s)\n", what, tostring(err), tostring(errno)))
	os.exit(1)
end

-- Command line.
local options = { version = nil, method = nil, timeout = 10, redirects = true, expect = true }
local words = {}
do
	local flags = {
		["--http1.0"] = function() options.version = 1.0 end,
		["--http1.1"] = function() options.version = 1.1 end,
		["--http2"] = function() options.version = 2 end,
		["--no-redirect"] = function() options.redirects = false end,
		["--no-expect"] = function() options.expect = false end,
	}
	local i = 1
	while i <= #arg do
		local word = arg[i]
		if flags[word] then
			flags[word]()
		elseif word == "--method" or word == "--timeout" then
			i = i + 1
			local value = arg[i] or usage_error()
			if word == "--method" then
				options.method = value
			else
				options.timeout = tonumber(value) or usage_error()
			end
		elseif word:sub(1, 2) == "--" then
			usage_error()
		else
			words[#words + 1] = word
		end
		i = i + 1
	end
end
local url, body = words[1], words[2]
if not url then
	usage_error()
end

-- The request.
local request = http_request.new_from_uri(url)
request.version = options.version
request.follow_redirects = options.redirects
request.proxy = false -- loopback only: never a proxy from *_proxy variables
if body then
	if body:sub(1, 1) == "@" then
		local file = assert(io.open(body:sub(2), "rb"))
		body = file:read("*a")
		file:close()
	end
	request.headers:upsert(":method", "POST")
	request.headers:upsert("content-type", "application/octet-stream")
	request:set_body(body)
	if not options.expect then
		request.headers:delete("expect")
	end
end
if options.method then
	request.headers:upsert(":method", options.method)
end

-- The exchange.
local head, stream, errno = request:go(options.timeout)
if not head then
	fail("request failed", stream, errno)
end

local version = stream.peer_version or stream.connection.version
local version_name = version == 2 and "2" or string.format("%.1f", version)
local out = { string.format("HTTP/%s %s\n", version_name, head:get(":status")) }
for name, value in head:each() do
	if name:sub(1, 1) ~= ":" then
		out[#out + 1] = name .. ": " .. value .. "\n"
	end
end
out[#out + 1] = "\n"
io.write(table.concat(out))

local data, err, errno2 = stream:get_body_as_string(options.timeout)
if not data and err then
	stream:shutdown()
	fail("body read failed", err, errno2)
end
data = data or ""
io.write(data)
if #data > 0 and data:sub(-1) ~= "\n" then
	io.write("\n")
end
stream:shutdown()
os.exit(0)
