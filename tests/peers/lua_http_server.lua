#!/usr/bin/env lua5.2
--[[
lua_http_server.lua: pollhttp's lua-http peer on the server side, for the interop tests.

    lua5.2 tests/peers/lua_http_server.lua PORT [ADDRESS]

Listens on ADDRESS (default 127.0.0.1) port PORT, in clear text, and answers every request
with 200:
  * a request with a body gets the body back, under the request's content-type
    (application/octet-stream when it had none);
  * a request without a body gets "hello" as text/plain;
  * HEAD gets the head only.
Every answer carries content-length and x-echo-http-version ("1.0", "1.1" or "2": the version
the request came in). One port speaks HTTP/1.0, HTTP/1.1 and HTTP/2 with prior knowledge:
lua-http tells them apart by the client preface when the server's version is left open. An
"Upgrade: h2c" request is answered over HTTP/1.1 (lua-http 0.4 does not upgrade). A request
with "Expect: 100-continue" is sent the 100 before its body is read.

It writes one line per request to stderr and runs until it is killed (the tests send SIGKILL
to its PID). Needs Debian's lua-http and lua5.2 (scripts/install-peers.sh): on Debian 12,
lua-http's own dependencies are packaged for Lua 5.1 and 5.2 only.
]]

local http_server = require "http.server"
local http_headers = require "http.headers"

-- Longest wait for any one read or write of a request.
local STEP_TIMEOUT = 30

local function say(...)
	io.stderr:write(string.format(...), "\n")
	io.stderr:flush()
end

local function version_name(stream)
	-- An HTTP/1 stream knows the version of its request; an HTTP/2 stream has its connection's.
	local version = stream.peer_version or stream.connection.version
	if version == 2 then
		return "2"
	end
	return string.format("%.1f", version)
end

local function answer(_, stream)
	local request, why = stream:get_headers(STEP_TIMEOUT)
	if not request then
		say("request ended before its head: %s", tostring(why))
		return
	end
	local method = request:get(":method")

	local expect = request:get("expect")
	if expect and expect:lower() == "100-continue" then
		assert(stream:write_continue(STEP_TIMEOUT))
	end

	local body, body_error = stream:get_body_as_string(STEP_TIMEOUT)
	if not body then
		say("request body lost: %s", tostring(body_error))
		return
	end

	local reply, kind
	if #body > 0 then
		reply = body
		kind = request:get("content-type") or "application/octet-stream"
	else
		reply = "hello"
		kind = "text/plain"
	end
	local version = version_name(stream)

	local head = http_headers.new()
	head:append(":status", "200")
	head:append("content-type", kind)
	head:append("content-length", tostring(#reply))
	head:append("x-echo-http-version", version)
	say("%s %s HTTP/%s: 200, %d bytes in, %d out", method or "?", request:get(":path") or "?",
		version, #body, #reply)

	local head_only = method == "HEAD"
	assert(stream:write_headers(head, head_only, STEP_TIMEOUT))
	if not head_only then
		assert(stream:write_chunk(reply, true, STEP_TIMEOUT))
	end
end

local port = tonumber(arg[1])
if not port then
	io.stderr:write("usage: lua5.2 lua_http_server.lua PORT [ADDRESS]\n")
	os.exit(2)
end

local server = assert(http_server.listen {
	host = arg[2] or "127.0.0.1",
	port = port,
	tls = false, -- clear text only (nil would also look for a TLS ClientHello)
	version = nil, -- HTTP/1.x, or HTTP/2 when the client preface says so
	reuseaddr = true,
	onstream = answer,
	-- lua-http's default onerror raises, which would end the server at the first bad client.
	onerror = function(_, context, operation, err)
		say("%s failed on %s: %s", tostring(operation), tostring(context), tostring(err))
	end,
})
assert(server:listen())

local _, address, bound_port = server:localname()
say("lua_http_server listening on %s port %d", address, bound_port)

-- The server's cqueues controller is stepped here so that one failed step is logged, not fatal.
while true do
	local ok, err = server:step()
	if not ok then
		say("step failed: %s", tostring(err))
	end
end
