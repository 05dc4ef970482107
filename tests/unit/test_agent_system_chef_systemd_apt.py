"""systemd_unit and apt_repository pinned to Chef's (audit findings 3, 5, 13 and 14).

Sources: chef/chef 19.4.14 lib/chef/provider/systemd_unit.rb (define_resource_requirements:
`requirements.assert(:create) { a.assertion { IniParse.parse(new_resource.to_ini) } }`; a
ParseError raised inside the assertion propagates with IniParse's own message),
lib/chef/resource/systemd_unit.rb (to_ini: IniParse.gen, `option_sep: "="`,
`[val].flatten.each`); iniparse 1.5.0 (Chef's Gemfile.lock; antw/iniparse lib/iniparse.rb
parse: `source.gsub(/(?<!\\\\)\\\\\\n/, '')` joins continued lines; lib/iniparse/parser.rb
parse_line: strip_comment, strip_indent, then Section / Option / Blank or ParseError "A line
of your INI document could not be parsed to a LineType: LINE.inspect."; lib/iniparse/lines.rb
Option#line_contents `"#{key}#{@option_sep}#{value}"`). lib/chef/resource/apt_repository.rb
(`property :key, ..., default: []`; action :add `if new_resource.key ||
::File.exist?(keyring_path)`; build_repo `Addressable::URI.parse(uri)` ... `uri.normalize.to_s`)
and addressable 2.9.0 (lib/addressable/uri.rb normalize).
"""
from __future__ import annotations

import os

import pytest
from test_agent_support import FakeRunner, book, context

from harness.agent import apt, systemd
from harness.agent.addressable import normalize_uri
from harness.agent.apt import AptRepository
from harness.agent.errors import ResourceFailure
from harness.agent.systemd import SystemdUnit, iniparse_error, to_ini

PARSE_ERROR = "A line of your INI document could not be parsed to a LineType: "


@pytest.fixture
def unit_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(systemd, "UNIT_DIR", str(tmp_path))
    monkeypatch.setattr(systemd.shutil, "which", lambda name: None)   # no systemd-analyze
    _no_chown(monkeypatch)
    return tmp_path


def _no_chown(monkeypatch):
    """Files are written root-owned; as a non-root user the chown is skipped (ownership is
    not what these tests are about)."""
    monkeypatch.setattr(os, "chown", lambda *args, **kwargs: None)
    monkeypatch.setattr(os, "lchown", lambda *args, **kwargs: None)


@pytest.mark.parametrize("text", [
    "[Service]\nExecStart=/usr/sbin/varnishd \\\n  -a :6081 \\\n  -s malloc,256m\n",
    "[Unit]\nDescription=x ; a comment\n# comment\n; comment\n\n  Indented=yes\n",
    "Orphan=before any section\n[Unit]\n",
    "[Unit]\r\nDescription=crlf\r\n",
    "[Unit] ; section comment\n  [Install]\nWantedBy=multi-user.target\n",
])
def test_iniparse_accepts(text):
    """IniParse.parse joins `\\`-continued lines before it splits (so a backslash-continued
    ExecStart is valid), strips `;`/`#` comments and indents; an option before any section
    goes to an anonymous section; chomp drops a "\\r"."""
    assert iniparse_error(text) is None


@pytest.mark.parametrize("text, line", [
    ("[Service]\nExecStart=/bin/x\n  -a :6081\n", '"  -a :6081"'),
    ("[Service]\nExecStart=/bin/x \\\\\n  -a :6081\n", '"  -a :6081"'),   # \\ is no continuation
    ("[Unit] trailing\n", '"[Unit] trailing"'),
    ("[Install]  \n", '"[Install]  "'),       # no comment: only chomp, so no rstrip
    ("[]\n", '"[]"'),
    ("=value\n", '"=value"'),
    ('[Unit]\nsay "hi"\t#{x}\n', '"say \\"hi\\"\\t\\#{x}"'),
])
def test_iniparse_rejects_with_its_message(text, line):
    """A line that is no Section (`^\\[([^\\]]+)\\]$`), Option (`^\\s*([^=]+?)(\\s*=\\s*)(.*?)$`)
    or Blank raises ParseError naming the line with Ruby's String#inspect."""
    assert iniparse_error(text) == f"{PARSE_ERROR}{line}."


def test_systemd_unit_create_fails_on_content_iniparse_rejects(unit_dir):
    """The :create assertion runs before anything is written, whatever `verify` says, and
    also when the file already holds that text."""
    text = "[Service]\nExecStart=/bin/x\n  -a :6081\n"
    run = FakeRunner()
    ctx, _ = context(run=run)
    for verify in (True, False):
        with pytest.raises(ResourceFailure, match=f'^{PARSE_ERROR}"  -a :6081".$'):
            SystemdUnit(ctx, "x.service", content=text, verify=verify).apply("create")
    assert not (unit_dir / "x.service").exists() and run.calls == []
    (unit_dir / "x.service").write_text(text)
    with pytest.raises(ResourceFailure, match=PARSE_ERROR):
        SystemdUnit(ctx, "x.service", content=text).apply("create")
    ok = "[Service]\nExecStart=/usr/sbin/varnishd \\\n  -a :6081\n"
    assert SystemdUnit(ctx, "y.service", content=ok).apply("create") is True
    assert (unit_dir / "y.service").read_text() == ok


def test_to_ini_renders_values_as_ruby_to_s():
    """Option#line_contents interpolates the value: true/false/nil are "true"/"false"/"",
    and `[val].flatten` gives one line per item of nested lists."""
    assert to_ini({"Service": {"RemainAfterExit": True, "PrivateTmp": False, "User": None,
                               "Environment": ["A=1", ["B=2", "C=3"]], "Nice": 5}}) == (
        "[Service]\nRemainAfterExit=true\nPrivateTmp=false\nUser=\n"
        "Environment=A=1\nEnvironment=B=2\nEnvironment=C=3\nNice=5\n")


@pytest.fixture
def apt_dirs(tmp_path, monkeypatch):
    for name, rel in (("STAMP", "periodic/update-success-stamp"),
                      ("APT_CONF", "apt.conf.d/15update-stamp"),
                      ("SOURCES_D", "sources.list.d"), ("KEYRINGS", "keyrings")):
        monkeypatch.setattr(apt, name, str(tmp_path / rel))
    (tmp_path / "sources.list.d").mkdir()
    _no_chown(monkeypatch)
    return tmp_path


def test_apt_repository_without_key_is_signed_by_its_keyring(apt_dirs):
    """`key` defaults to [] and `[]` is true in Ruby, so `new_resource.key ||
    ::File.exist?(keyring_path)` holds and signed-by names /etc/apt/keyrings/NAME.gpg even
    when no key is given and that file does not exist; only key nil (or false, which then
    fails in `key.each`) leaves it out while the keyring is missing."""
    keyring = apt_dirs / "keyrings/backports.gpg"
    args = {"uri": "http://deb.debian.org/debian", "distribution": "bookworm-backports",
            "components": ["main"], "cache_rebuild": False}
    ctx, _ = context(run=FakeRunner())
    assert AptRepository(ctx, "backports", **args).content() == (
        f"deb      [signed-by={keyring}] http://deb.debian.org/debian bookworm-backports main\n")
    assert AptRepository(ctx, "backports", key=[], **args).content().startswith(
        f"deb      [signed-by={keyring}] ")
    assert AptRepository(ctx, "backports", key=None, **args).content() == (
        "deb      http://deb.debian.org/debian bookworm-backports main\n")
    keyring.parent.mkdir()
    keyring.write_bytes(b"")
    assert f"signed-by={keyring}" in AptRepository(ctx, "backports", key=None, **args).content()
    with pytest.raises(ResourceFailure, match="undefined method `each' for false"):
        AptRepository(ctx, "backports", key=False, **args).apply("add")


def test_apt_repository_empty_strings_are_true_in_ruby(apt_dirs):
    """build_repo: `"arch=#{arch}" if arch` and `"signed-by=#{signed_by}" if signed_by`."""
    ctx, _ = context(run=FakeRunner())
    res = AptRepository(ctx, "r", uri="http://h/d", distribution="s", components=["main"],
                        arch="", signed_by="")
    assert res.content() == "deb      [arch= signed-by=] http://h/d s main\n"


def test_apt_repository_key_file_url_cannot_be_located(apt_dirs):
    """key_resource_type: an http(s) key is a remote_file, a cookbook file a cookbook_file,
    anything else (a file: URL, a missing file) "Cannot locate key file: KEY"."""
    ctx, _ = context(run=FakeRunner(), cookbooks={"repo": book("repo", {"files/a.asc": "k"})})
    for key in ("file:///srv/key.asc", "missing.asc"):
        with pytest.raises(ResourceFailure, match=f"^Cannot locate key file: {key}$"):
            AptRepository(ctx, "r", uri="http://h/d", key=key, cookbook="repo").apply("add")


@pytest.mark.parametrize("uri, normalized", [
    ("HTTP://Example.COM", "http://example.com/"),                   # scheme, host, empty path
    ("http://test/uri with spaces", "http://test/uri%20with%20spaces"),  # Chef's apt spec
    ("https://Mirror.example:443/debian", "https://mirror.example/debian"),  # default port
    ("http://mirror.example:8080/debian/", "http://mirror.example:8080/debian/"),
    ("http://h/a/./b/../debian", "http://h/a/debian"),               # dot segments
    ("http://h/%7e%61%2f", "http://h/~a%2F"),                        # unreserved decoded
    ("http://h.example.com./d", "http://h.example.com/d"),           # one trailing dot
    ("file:/srv/repo", "file:/srv/repo"),
    ("http://deb.debian.org/debian", "http://deb.debian.org/debian"),
])
def test_uri_normalized_as_addressable(uri, normalized):
    """Addressable::URI#normalize: normalized_scheme/host downcase, normalized_port drops the
    scheme's default port, normalized_path percent-encodes outside pchar (a space is %20),
    decodes unreserved escapes, removes dot segments and is "/" when empty for http(s)."""
    assert normalize_uri(uri) == normalized


def test_apt_repository_writes_the_normalized_uri_and_refuses_invalid_ones(apt_dirs):
    ctx, _ = context(run=FakeRunner())
    res = AptRepository(ctx, "r", uri="HTTP://Deb.Debian.ORG:80", distribution="bookworm",
                        components=["main"], key=None)
    assert res.content() == "deb      http://deb.debian.org/ bookworm main\n"
    with pytest.raises(ResourceFailure, match='Invalid port number: "x"'):
        AptRepository(ctx, "r", uri="http://h:x/", key=None).content()
