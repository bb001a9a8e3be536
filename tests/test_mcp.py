"""For LLM agents (SPEC 2.1, issue 5): `bootstrap.py tool-schema` and the MCP server (`mcp`).

    TestToolSchema      every format (OpenAI Chat Completions functions, the Responses API's
                        function tools with `strict`, MCP with outputSchema and annotations)
                        prints the same three tools;
                        every schema is a valid JSON Schema (jsonschema's Draft 2020-12
                        meta-schema), names match ^[a-zA-Z0-9_-]{1,64}$, the descriptions of
                        the report tools say how to read problems[].fix and its `where`
    TestSdkSession      a REAL client session with the official `mcp` SDK (stdio_client +
                        ClientSession, from the cached .cache/venv-hosts) against the server run
                        in a network-less namespace: initialize, tools/list, sandbox_check,
                        sandbox_install into a target folder (the SDK itself validates each
                        structuredContent against the tool's outputSchema), a JSON-RPC error
                        for an unknown tool, isError tool results for bad arguments, the
                        protocol version negotiated, next steps named as tool calls, ping
    TestJsonRpc         the wire itself, raw: parse error, invalid request, method not found,
                        invalid params, ping, notifications get no answer, ids are echoed,
                        protocol version negotiation (the client's when supported, else the
                        newest), arguments are judged as the schema judges them and refused
                        as isError tool results, structuredContent valid against the
                        outputSchema, null arguments (strict shape) as left out, stdout
                        carries nothing but JSON-RPC lines even when an install builds an
                        sdist or the installed code prints, and the server exits 0 when
                        stdin closes

Servers run with a clean environment (no PIP_* settings), under ``unshare -rn`` (no network)
when this machine allows it. Installs go to a --target folder under tmp_path only.
"""

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading

import pytest

import hostkit
from hostkit import BOOTSTRAP_PY, clean_env
from wheelmaker import make_wheel

TOOL_NAMES = ["sandbox_inspect", "sandbox_check", "sandbox_install"]
#: The MCP revisions the server speaks through the initialize handshake, oldest first.
PROTOCOL_VERSIONS = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]
NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
TIMEOUT = 120


def _network_less_prefix():
    """['unshare', '-rn'] when this machine lets us drop the network, else []."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    try:
        ok = subprocess.run([unshare, "-rn", "true"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return [unshare, "-rn"] if ok else []


NO_NETWORK = _network_less_prefix()


def server_command(python):
    return NO_NETWORK + [python, BOOTSTRAP_PY, "mcp"]


def tool_schema(*args):
    proc = subprocess.run([sys.executable, BOOTSTRAP_PY, "tool-schema"] + list(args),
                          env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def good_bundle(folder, prefix="mcp"):
    """A .tar.gz of two wheels: zz-<prefix>pkg (VALUE = 42) needing zz-<prefix>dep."""
    wheels = os.path.join(str(folder), "wheels-" + prefix)
    files = [
        make_wheel(wheels, "zz-%spkg" % prefix, "1.0",
                   files={"zz_%spkg/__init__.py" % prefix: "VALUE = 42\n"},
                   requires=["zz-%sdep>=1" % prefix]),
        make_wheel(wheels, "zz-%sdep" % prefix, "1.0",
                   files={"zz_%sdep/__init__.py" % prefix: "X = 1\n"}),
    ]
    return hostkit.pack_bundle(os.path.join(str(folder), "%s.tar.gz" % prefix), files)


def broken_bundle(folder):
    wheels = os.path.join(str(folder), "wheels-broken")
    files = [make_wheel(wheels, "zz-mcpbroken", "1.0", requires=["zz-mcpabsent>=2"])]
    return hostkit.pack_bundle(os.path.join(str(folder), "broken.tar.gz"), files)


# -- tool-schema -----------------------------------------------------------------------------------


class TestToolSchema:
    @pytest.fixture(scope="class")
    @classmethod
    def openai(cls):
        return tool_schema()

    @pytest.fixture(scope="class")
    @classmethod
    def mcp(cls):
        return tool_schema("--format", "mcp")

    @pytest.fixture(scope="class")
    @classmethod
    def jsonschema(cls):
        return pytest.importorskip("jsonschema")

    @pytest.fixture(scope="class")
    @classmethod
    def responses(cls):
        return tool_schema("--format", "responses")

    def test_responses_shape(self, responses, openai):
        """The Responses API's function tool: name, description, parameters and strict at
        the top level (not nested under "function" as in Chat Completions)."""
        assert [t["name"] for t in responses] == TOOL_NAMES
        for tool, chat in zip(responses, openai):
            assert set(tool) == {"type", "name", "description", "parameters", "strict"}
            assert tool["type"] == "function"
            assert tool["description"] == chat["function"]["description"]

    def test_responses_strict_schemas_follow_strict_mode(self, responses, openai):
        """strict: every property required, an optional one nullable, no other properties;
        otherwise the same types as the plain schema."""
        for tool, chat in zip(responses, openai):
            assert tool["strict"] is True
            schema, plain = tool["parameters"], chat["function"]["parameters"]
            assert schema["additionalProperties"] is False
            assert sorted(schema["required"]) == sorted(schema["properties"]) == \
                sorted(plain["properties"])
            for key, value in schema["properties"].items():
                original = plain["properties"][key]
                if key in plain.get("required", ()):
                    assert value == original
                else:
                    assert value["type"] == [original["type"], "null"]

    LIMITS = {"max_upload_size": None, "max_members": None, "max_nesting": None}

    @pytest.mark.parametrize("name,arguments,valid", [
        ("sandbox_check", dict(LIMITS, bundles=["a.tar.gz"], require=None, profile=None), True),
        ("sandbox_check", {"bundles": ["a.tar.gz"]}, False),  # strict: all keys present
        ("sandbox_install", dict(LIMITS, bundles=None, require=None, target=None,
                                 upgrade=None, budget=None), True),
        ("sandbox_install", dict(LIMITS, bundles=None, require=None, target=None,
                                 upgrade=None, budget=0), False),
        ("sandbox_install", dict(LIMITS, bundles=None, require=None, target=None,
                                 upgrade=None, budget=None, max_members=120000), True),
        ("sandbox_install", dict(LIMITS, bundles=None, require=None, target=None,
                                 upgrade=None, budget=None, max_members=0), False),
        ("sandbox_check", dict(LIMITS, bundles=["a.tar.gz"], require=None, profile=None,
                               max_upload_size="16G"), False),  # bytes, a number
    ])
    def test_responses_strict_schemas_judge_arguments(self, name, arguments, valid, responses,
                                                      jsonschema):
        (schema,) = [t["parameters"] for t in responses if t["name"] == name]
        jsonschema.Draft202012Validator.check_schema(schema)
        assert jsonschema.Draft202012Validator(schema).is_valid(arguments) is valid

    def test_mcp_annotations(self, mcp):
        annotations = dict((t["name"], t["annotations"]) for t in mcp)
        assert annotations["sandbox_inspect"]["readOnlyHint"] is True
        assert annotations["sandbox_check"]["readOnlyHint"] is True
        assert annotations["sandbox_install"]["readOnlyHint"] is False
        assert annotations["sandbox_install"]["destructiveHint"] is True
        assert all(a["openWorldHint"] is False for a in annotations.values())  # never online

    def test_mcp_output_schemas_are_valid_json_schema(self, mcp, jsonschema):
        for tool in mcp:
            jsonschema.Draft202012Validator.check_schema(tool["outputSchema"])
            assert tool["outputSchema"]["type"] == "object"  # MCP requires an object schema

    def test_openai_is_the_default(self, openai):
        assert openai == tool_schema("--format", "openai")

    def test_openai_shape(self, openai):
        assert [tool["type"] for tool in openai] == ["function"] * len(openai)
        for tool in openai:
            assert set(tool) == {"type", "function"}
            assert {"name", "description", "parameters"} <= set(tool["function"])

    def test_mcp_shape(self, mcp):
        for tool in mcp:
            assert {"name", "description", "inputSchema"} <= set(tool)

    def test_names(self, openai, mcp):
        assert [t["function"]["name"] for t in openai] == TOOL_NAMES
        assert [t["name"] for t in mcp] == TOOL_NAMES
        for name in TOOL_NAMES:
            assert NAME_RE.match(name)

    def test_both_formats_hold_the_same_tools(self, openai, mcp):
        assert [(t["function"]["name"], t["function"]["description"],
                 t["function"]["parameters"]) for t in openai] == [
            (t["name"], t["description"], t["inputSchema"]) for t in mcp]

    @pytest.mark.parametrize("fmt", ["openai", "mcp"])
    def test_schemas_are_valid_json_schema(self, fmt, openai, mcp, jsonschema):
        tools = openai if fmt == "openai" else mcp
        for tool in tools:
            schema = tool["function"]["parameters"] if fmt == "openai" else tool["inputSchema"]
            jsonschema.Draft202012Validator.check_schema(schema)
            assert schema["type"] == "object"  # both OpenAI and MCP require an object schema

    @pytest.mark.parametrize("name", ["sandbox_check", "sandbox_install"])
    def test_report_tools_explain_fix_and_where(self, name, mcp):
        (description,) = [t["description"] for t in mcp if t["name"] == name]
        assert "fix" in description and "where" in description
        assert "online" in description and "sandbox" in description

    def test_descriptions_say_when_to_call(self, mcp):
        descriptions = dict((t["name"], t["description"]) for t in mcp)
        assert "target" in descriptions["sandbox_inspect"]
        assert "without installing" in descriptions["sandbox_check"] or \
            "dry run" in descriptions["sandbox_check"].lower()
        assert all(len(d) >= 60 for d in descriptions.values()), descriptions

    @pytest.mark.parametrize("name,arguments,valid", [
        ("sandbox_inspect", {}, True),
        ("sandbox_inspect", {"x": 1}, False),
        ("sandbox_check", {"bundles": ["a.tar.gz"]}, True),
        ("sandbox_check", {"bundles": ["a.tar.gz"], "require": ["a>=1"], "profile": "p.json"},
         True),
        ("sandbox_check", {}, False),
        ("sandbox_check", {"bundles": []}, False),
        ("sandbox_check", {"bundles": "a.tar.gz"}, False),
        ("sandbox_check", {"bundles": [1]}, False),
        ("sandbox_install", {}, True),
        ("sandbox_install", {"bundles": ["a"], "target": "/t", "upgrade": True, "budget": 9.5},
         True),
        ("sandbox_install", {"budget": 0}, False),
        ("sandbox_install", {"upgrade": "yes"}, False),
        ("sandbox_install", {"targets": "/t"}, False),
    ])
    def test_schemas_judge_arguments(self, name, arguments, valid, mcp, jsonschema):
        (schema,) = [t["inputSchema"] for t in mcp if t["name"] == name]
        assert jsonschema.Draft202012Validator(schema).is_valid(arguments) is valid


# -- a real MCP client session (the official SDK) --------------------------------------------------


class TestSdkSession:
    @pytest.fixture(scope="class")
    @classmethod
    def hosts(cls):
        return hostkit.require_hosts(
            "; the official mcp SDK client is not available, so only the equivalent raw "
            "JSON-RPC exchange of TestJsonRpc (initialize, tools/list, check, install) ran")

    @pytest.fixture(scope="class")
    @classmethod
    def session(cls, hosts, tmp_path_factory):
        folder = tmp_path_factory.mktemp("mcp-sdk")
        good, broken = good_bundle(folder), broken_bundle(folder)
        target = folder / "target"
        calls = [
            ["sandbox_check", {"bundles": [good]}],
            ["sandbox_install", {"bundles": [good], "target": str(target)}],
            ["sandbox_frobnicate", {}],
            ["sandbox_check", {"bundles": 5}],
            ["sandbox_check", {}],
            ["sandbox_install", {"bundles": [good], "target": str(target), "budget": -1}],
            ["sandbox_check", {"bundles": [broken]}],
            ["sandbox_inspect", {}],
        ]
        result = hostkit.mcp_session(hosts, server_command(hosts), clean_env(), calls, folder)
        result["target"] = target
        result["good"] = good
        return result

    def call(self, session, index):
        return session["calls"][index]

    def test_initialize(self, session):
        init = session["initialize"]
        assert init["serverInfo"]["name"] == "sandbox-bootstrap"
        assert "tools" in init["capabilities"]
        # the SDK offers its newest handshake revision, which this server speaks
        assert init["protocolVersion"] == PROTOCOL_VERSIONS[-1]

    def test_lists_output_schemas_and_annotations(self, session):
        expected = tool_schema("--format", "mcp")
        tools = session["tools"]
        assert [t["outputSchema"] for t in tools] == [t["outputSchema"] for t in expected]
        assert [t["annotations"] for t in tools] == [t["annotations"] for t in expected]

    def test_lists_three_tools(self, session):
        tools = session["tools"]
        assert [t["name"] for t in tools] == TOOL_NAMES
        expected = tool_schema("--format", "mcp")
        assert [t["inputSchema"] for t in tools] == [t["inputSchema"] for t in expected]

    def test_check(self, session):
        result = self.call(session, 0)["result"]
        assert result.get("isError") is not True
        report = result["structuredContent"]
        assert report["schema"] == "sandbox-bootstrap.report/1"
        assert report["status"] == "ok"
        assert sorted(i["name"] for i in report["would_install"]) == ["zz-mcpdep", "zz-mcppkg"]
        (text,) = [c["text"] for c in result["content"] if c["type"] == "text"]
        assert json.loads(text) == report
        # the next step names the tool to call, with its arguments, not the command line
        (step,) = [s for s in report["next_steps"] if s.startswith("Everything fits")]
        assert step.startswith("Everything fits: sandbox_install with arguments ")
        assert json.loads(step.split(" with arguments ", 1)[1]) == {
            "bundles": [session["good"]]}
        assert "python bootstrap.py" not in json.dumps(report["next_steps"])

    def test_install_lands_in_the_target(self, session):
        result = self.call(session, 1)["result"]
        assert result.get("isError") is not True, result
        report = result["structuredContent"]
        assert report["status"] == "ok"
        assert sorted(i["name"] for i in report["installed"]) == ["zz-mcpdep", "zz-mcppkg"]
        target = session["target"]
        assert (target / "zz_mcppkg" / "__init__.py").read_text() == "VALUE = 42\n"
        assert (target / "zz_mcpdep" / "__init__.py").is_file()
        assert (target / "zz_mcppkg-1.0.dist-info" / "RECORD").is_file()

    @pytest.mark.parametrize("index,words", [
        (3, ["bundles must be an array"]), (4, ["bundles is required"]),
        (5, ["budget must be positive"])],
        ids=["bundles-not-a-list", "bundles-missing", "negative-budget"])
    def test_bad_arguments_are_tool_errors_the_model_reads(self, session, index, words):
        """SEP-1303 (MCP 2025-11-25): input validation errors are tool results with
        isError, so that the model sees the message and can correct the call."""
        call = self.call(session, index)
        assert "error" not in call, call
        assert call["result"]["isError"] is True, call
        (text,) = [c["text"] for c in call["result"]["content"] if c["type"] == "text"]
        for word in words:
            assert word in text, text

    def test_unknown_tool_is_a_protocol_error(self, session):
        call = self.call(session, 2)
        assert call["error"]["code"] == -32602, call
        assert "sandbox_frobnicate" in call["error"]["message"]

    def test_failed_check_explains_the_fix(self, session):
        report = self.call(session, 6)["result"]["structuredContent"]
        assert report["status"] == "failed"
        (problem,) = report["problems"]
        assert problem["code"] == "missing-dependency"
        assert problem["fix"]["where"] == "online"
        assert "tools/bundle.py" in problem["fix"]["command"]

    def test_inspect(self, session, hosts):
        report = self.call(session, 7)["result"]["structuredContent"]
        assert report["schema"] == "sandbox-bootstrap.profile/1"
        proc = subprocess.run([hosts, BOOTSTRAP_PY, "inspect", "--json"], env=clean_env(),
                              stdout=subprocess.PIPE, universal_newlines=True, timeout=TIMEOUT)
        assert report["target"] == json.loads(proc.stdout)["target"]

    def test_ping(self, session):
        assert session["ping"] == {} or set(session["ping"]) <= {"_meta"}


# -- the raw wire ----------------------------------------------------------------------------------


class Server(object):
    """`bootstrap.py mcp` in a subprocess, spoken to one line at a time."""

    def __init__(self, cwd, python=None):
        self.proc = subprocess.Popen(
            server_command(python or sys.executable), cwd=str(cwd), env=clean_env(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            universal_newlines=True)
        self.lines = []  # every stdout line, for the "only JSON-RPC on stdout" check
        self._queue = queue.Queue()
        self._stderr = []
        threading.Thread(target=self._pump, daemon=True).start()
        self._stderr_thread = threading.Thread(
            target=lambda: self._stderr.append(self.proc.stderr.read()), daemon=True)
        self._stderr_thread.start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)

    def send(self, message):
        self.proc.stdin.write((message if isinstance(message, str) else json.dumps(message))
                              + "\n")
        self.proc.stdin.flush()

    def receive(self, timeout=TIMEOUT):
        try:
            line = self._queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no answer from the server in %ss" % timeout)
        assert line is not None, "the server closed stdout; stderr: %s" % self.stderr()
        return json.loads(line)

    def request(self, method, params=None, id=1):
        message = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.receive()

    def call(self, name, arguments, id=1):
        return self.request("tools/call", {"name": name, "arguments": arguments}, id=id)

    def close(self, timeout=60):
        """Close stdin; returns the exit code."""
        self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()

    def stderr(self):
        """What the server wrote to stderr (complete once it has exited)."""
        if self.proc.poll() is not None:
            self._stderr_thread.join(TIMEOUT)
        return "".join(self._stderr)


def assert_json_rpc_lines(lines):
    """Every stdout line is one JSON-RPC 2.0 response."""
    assert lines, "the server wrote nothing"
    for line in lines:
        assert line.endswith("\n")
        message = json.loads(line)  # raises on anything that is not JSON
        assert isinstance(message, dict) and message.get("jsonrpc") == "2.0", line
        assert "id" in message and (("result" in message) != ("error" in message)), line


def error_code(response):
    assert "error" in response and "result" not in response, response
    return response["error"]["code"]


class TestJsonRpc:
    @pytest.fixture
    def server(self, tmp_path):
        server = Server(tmp_path)
        yield server
        if server.proc.poll() is None:
            server.close()

    def test_initialize_and_list_tools(self, server):
        init = server.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                             "clientInfo": {"name": "raw", "version": "0"}})
        assert init["id"] == 1
        assert init["result"]["protocolVersion"] == "2025-06-18"
        assert init["result"]["serverInfo"]["name"] == "sandbox-bootstrap"
        assert "tools" in init["result"]["capabilities"]
        server.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        listed = server.request("tools/list", id="two")
        assert listed["id"] == "two"
        assert [t["name"] for t in listed["result"]["tools"]] == TOOL_NAMES
        assert listed["result"]["tools"] == tool_schema("--format", "mcp")

    @pytest.mark.parametrize("offered,answered", [
        (version, version) for version in PROTOCOL_VERSIONS] + [
        ("1999-01-01", PROTOCOL_VERSIONS[-1]), ("2099-12-31", PROTOCOL_VERSIONS[-1]),
        (None, PROTOCOL_VERSIONS[-1]), (7, PROTOCOL_VERSIONS[-1])],
        ids=PROTOCOL_VERSIONS + ["older-unknown", "newer-unknown", "none", "not-a-string"])
    def test_protocol_version_is_negotiated(self, server, offered, answered):
        """The client's revision when the server speaks it, else the newest it speaks; never
        an echo of whatever the client sent."""
        params = {"capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}
        if offered is not None:
            params["protocolVersion"] = offered
        init = server.request("initialize", params)
        assert init["result"]["protocolVersion"] == answered

    def test_ping(self, server):
        assert server.request("ping", id=7) == {"jsonrpc": "2.0", "id": 7, "result": {}}

    def test_parse_error(self, server):
        server.send("{this is not json")
        response = server.receive()
        assert error_code(response) == -32700
        assert response["id"] is None
        assert server.request("ping", id=2)["result"] == {}  # still serving

    @pytest.mark.parametrize("raw,expected_id", [
        ('{"jsonrpc": "2.0", "id": 3}', 3),  # no method
        ('{"jsonrpc": "1.0", "id": 4, "method": "ping"}', 4),  # wrong version
        ('{"id": 5, "method": "ping"}', 5),  # no version
        ('{"jsonrpc": "2.0", "id": 6, "method": 7}', 6),  # method not a string
        ("5", None),  # not an object
        ('"ping"', None),
    ], ids=["no-method", "jsonrpc-1.0", "no-jsonrpc", "method-number", "number", "string"])
    def test_invalid_request(self, server, raw, expected_id):
        server.send(raw)
        response = server.receive()
        assert error_code(response) == -32600
        assert response["id"] == expected_id
        assert server.request("ping", id=99)["result"] == {}

    def test_method_not_found(self, server):
        response = server.request("tools/frobnicate", id="m")
        assert error_code(response) == -32601
        assert response["id"] == "m"

    def test_notifications_get_no_response(self, server):
        for method in ("notifications/initialized", "notifications/cancelled",
                       "notifications/whatever", "ping"):
            server.send({"jsonrpc": "2.0", "method": method})
        assert server.request("ping", id=42) == {"jsonrpc": "2.0", "id": 42, "result": {}}
        assert server.close() == 0
        assert len(server.lines) == 1, server.lines

    def test_unknown_tool_is_invalid_params(self, server):
        response = server.call("sandbox_frobnicate", {}, id=8)
        assert error_code(response) == -32602
        assert "sandbox_frobnicate" in response["error"]["message"]

    @pytest.mark.parametrize("params", [None, {}, {"name": 5}, {"arguments": {}}],
                             ids=["no-params", "empty", "name-not-string", "no-name"])
    def test_tools_call_without_a_name_is_invalid_params(self, server, params):
        assert error_code(server.request("tools/call", params, id=9)) == -32602

    @pytest.mark.parametrize("method,params", [
        ("initialize", "x"),
        ("initialize", [1]),
        ("tools/call", [1]),
        ("tools/call", "sandbox_inspect"),
    ], ids=["initialize-string", "initialize-array", "call-array", "call-string"])
    def test_params_that_are_not_an_object_are_a_client_error(self, server, method, params):
        """Wrong params are the client's mistake (-32602, or -32600 for a non-structured
        value), never the server's own -32603 Internal error."""
        response = server.request(method, params, id=10)
        assert error_code(response) in (-32602, -32600), response
        assert server.request("ping", id=11)["result"] == {}

    @pytest.mark.parametrize("name,arguments", [
        ("sandbox_inspect", {"x": 1}),
        ("sandbox_check", {}),
        ("sandbox_check", {"bundles": []}),
        ("sandbox_check", {"bundles": "a.tar.gz"}),
        ("sandbox_check", {"bundles": [1]}),
        ("sandbox_install", {"budget": 0}),
        ("sandbox_install", {"budget": True}),
        ("sandbox_install", {"upgrade": "yes"}),
        ("sandbox_install", {"targets": "/t"}),
        ("sandbox_install", {"max_members": 0}),
        ("sandbox_install", {"max_members": 1.5}),
        ("sandbox_install", {"max_nesting": True}),
        ("sandbox_check", {"bundles": ["a.tar.gz"], "max_upload_size": "16G"}),
    ])
    def test_arguments_the_schema_refuses_are_refused(self, server, name, arguments):
        jsonschema = pytest.importorskip("jsonschema")
        (schema,) = [t["inputSchema"] for t in tool_schema("--format", "mcp") if t["name"] == name]
        assert not jsonschema.Draft202012Validator(schema).is_valid(arguments)
        response = server.call(name, arguments, id=12)
        assert "error" not in response, response  # a tool result the model can read
        result = response["result"]
        assert result["isError"] is True, response
        (text,) = [c["text"] for c in result["content"] if c["type"] == "text"]
        assert text.startswith(name + ": "), text
        assert server.request("ping", id=13)["result"] == {}

    def test_structured_content_follows_the_output_schema(self, server, tmp_path):
        jsonschema = pytest.importorskip("jsonschema")
        schemas = dict((t["name"], t["outputSchema"]) for t in tool_schema("--format", "mcp"))
        good, broken = good_bundle(tmp_path, "shape"), broken_bundle(tmp_path)
        calls = [("sandbox_inspect", {}), ("sandbox_check", {"bundles": [good]}),
                 ("sandbox_check", {"bundles": [broken]}),
                 ("sandbox_install", {"bundles": [good], "target": str(tmp_path / "t")})]
        for index, (name, arguments) in enumerate(calls):
            result = server.call(name, arguments, id=index)["result"]
            jsonschema.Draft202012Validator(schemas[name]).validate(result["structuredContent"])
            assert result["isError"] is (result["structuredContent"].get("status") == "failed")

    def test_null_arguments_count_as_left_out(self, server, tmp_path):
        """What a strict Responses API tool call sends for the arguments it leaves out."""
        good = good_bundle(tmp_path, "nulls")
        checked = server.call("sandbox_check", {"bundles": [good], "require": None,
                                                "profile": None})
        assert checked["result"]["isError"] is False, checked
        assert checked["result"]["structuredContent"]["roots"] == ["zz-nullspkg"]

    def test_arguments_the_schema_accepts_are_run(self, server, tmp_path):
        good = good_bundle(tmp_path, "raw")
        checked = server.call("sandbox_check", {"bundles": [good], "require": ["zz-rawdep"]})
        assert checked["result"]["isError"] is False
        assert [i["name"] for i in checked["result"]["structuredContent"]["would_install"]] == [
            "zz-rawdep"]
        installed = server.call("sandbox_install", {
            "bundles": [good], "target": str(tmp_path / "t"), "upgrade": False, "budget": 300},
            id=2)
        assert installed["result"]["isError"] is False, installed
        assert (tmp_path / "t" / "zz_rawpkg" / "__init__.py").is_file()
        assert server.close() == 0
        assert_json_rpc_lines(server.lines)

    def test_stdout_is_only_json_rpc_when_an_install_builds_an_sdist(self, tmp_path):
        """The server runs on a throwaway venv that sees this venv's pip, setuptools and wheel
        (the sandbox's own build backend) and installs into its own site-packages."""
        python = hostkit.make_overlay_venv(tmp_path / "venv", sys.executable)
        server = Server(tmp_path, python)
        setup_py = ("import os, sys\n"
                    "print('setup.py says hello on stdout')\n"
                    "sys.stderr.write('setup.py says hello on stderr\\n')\n"
                    "from setuptools import setup\n"
                    "setup(name='zz-mcpsdist', version='1.0', py_modules=['zz_mcpsdist'])\n")
        sdist = hostkit.make_sdist(tmp_path, "zz-mcpsdist", "1.0", setup_py, "VALUE = 42\n")
        response = server.call("sandbox_install", {"bundles": [sdist]})
        assert response["result"]["isError"] is False, response
        assert [i["name"] for i in response["result"]["structuredContent"]["installed"]] == [
            "zz-mcpsdist"]
        assert os.path.isfile(os.path.join(hostkit.purelib_of(python), "zz_mcpsdist.py"))
        assert server.close() == 0
        assert_json_rpc_lines(server.lines)

    @pytest.mark.parametrize("statement", [
        "import sys; print('a .pth line printing')",
        "import sys; sys.stdout.write('a .pth line writing\\n'); sys.stdout.flush()",
        "import os; os.write(1, b'a .pth line writing to file descriptor 1\\n')",
    ], ids=["print", "sys.stdout", "fd-1"])
    def test_stdout_is_only_json_rpc_when_installed_code_prints(self, server, tmp_path,
                                                                statement):
        """A .pth file runs in the server process when the target is activated."""
        wheel = make_wheel(tmp_path / "wheels", "zz-mcpnoisy", "1.0", files={
            "zz_mcpnoisy.py": "X = 1\n", "zz_mcpnoisy.pth": statement + "\n"})
        response = server.call("sandbox_install", {"bundles": [str(wheel)],
                                                   "target": str(tmp_path / "t")})
        assert response["result"]["isError"] is False, response
        assert (tmp_path / "t" / "zz_mcpnoisy.pth").is_file()
        assert server.request("ping", id=3)["result"] == {}
        assert server.close() == 0
        assert_json_rpc_lines(server.lines)

    def test_exits_zero_when_stdin_closes(self, server):
        server.request("ping")
        assert server.close() == 0
        assert "Traceback" not in server.stderr()

    def test_exits_zero_when_stdin_closes_at_once(self, server):
        assert server.close() == 0
        assert server.lines == []

    def test_blank_lines_are_ignored(self, server):
        server.send("")
        server.send("   ")
        assert server.request("ping", id=1)["result"] == {}
        assert server.close() == 0
        assert len(server.lines) == 1
