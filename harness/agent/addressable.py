"""Addressable::URI.parse(uri).normalize.to_s, as Chef's apt_repository writes a repo's URI.

A port of addressable 2.9.0 (the version chef/chef's Gemfile.lock pins; sporkmonger/addressable
lib/addressable/uri.rb: parse, normalize, normalized_scheme/userinfo/host/port/path/query/
fragment, normalize_component, unencode, encode_component, normalize_path). Its own module
because it ports a Ruby library, not apt, and apt.py would pass 300 lines with it.
Not ported: the `feed:` special case, and Addressable's own IDNA tables (a non-ASCII host goes
through Python's IDNA 2003 codec).
"""
from __future__ import annotations

import re
import unicodedata

URIREGEX = re.compile(r"^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?$")
PORT_MAPPING = {"http": 80, "https": 443, "ftp": 21, "tftp": 69, "sftp": 22, "ssh": 22,
                "svn+ssh": 22, "telnet": 23, "nntp": 119, "gopher": 70, "wais": 210,
                "ldap": 389, "prospero": 1525}
UNRESERVED = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"
SUB_DELIMS = "!$&'()*+,;="
PCHAR = UNRESERVED + SUB_DELIMS + ":@"
HOST = UNRESERVED + SUB_DELIMS + "[:]"
SCHEME = UNRESERVED.replace("_", "").replace("~", "") + "+"
FRAGMENT = PCHAR + "/?"
RESERVED_AND_UNRESERVED = UNRESERVED + ":/?#[]@" + SUB_DELIMS
QUERY = UNRESERVED + "!$'()*+,=:@/?"   # NormalizeCharacterClasses::QUERY (no & ;), plus %2B
RULE_2A = re.compile(r"/\./|/\.$")
RULE_2B_2C = re.compile(r"/([^/]*)/\.\./|/([^/]*)/\.\.$")
RULE_2D = re.compile(r"^\.\.?/?")
RULE_PREFIXED_PARENT = re.compile(r"^/\.\.?/|^(/\.\.?)+/?$")


class InvalidURIError(ValueError):
    """Addressable::URI::InvalidURIError."""


def unencode(text: str, leave_encoded: str = "") -> bytes:
    """URI.unencode: every %XX becomes its byte, except those of `leave_encoded`."""
    def byte(match: re.Match[bytes]) -> bytes:
        value = bytes([int(match.group()[1:], 16)])
        return match.group() if value.decode("latin-1") in leave_encoded else value
    return re.sub(rb"%[0-9a-fA-F]{2}", byte, text.encode())


def encode(data: bytes, allowed: str) -> str:
    """URI.encode_component: each byte outside `allowed` as %XX, uppercase."""
    return "".join(chr(b) if chr(b) in allowed else f"%{b:02X}" for b in data)


def normalize_component(text: str, allowed: str) -> str:
    """URI.normalize_component: unencode, NFC (invalid UTF-8: the default class), encode."""
    raw = unencode(text)
    try:
        return encode(unicodedata.normalize("NFC", raw.decode()).encode(), allowed)
    except UnicodeDecodeError:
        return encode(raw, RESERVED_AND_UNRESERVED)


def normalize_path(path: str) -> str:
    """URI.normalize_path: the dot segments, removed by the same loop of substitutions."""
    while True:
        path, changed = RULE_2A.subn("/", path)
        if not changed and (pair := RULE_2B_2C.search(path)):
            parent, current = pair.group(1) or "", pair.group(2) or ""
            pattern = f"/{re.escape(parent)}/\\.\\./|(/{re.escape(current)}/\\.\\.$)"
            path, changed = re.subn(pattern, "/", path)
        if not changed:
            path, changed = RULE_2D.subn("", path)
        if not changed:
            path, changed = RULE_PREFIXED_PARENT.subn("/", path)
        if not changed:
            return path


def _userinfo(scheme: str | None, user: str | None, password: str | None) -> str | None:
    """normalized_user / normalized_password / normalized_userinfo."""
    def part(value: str | None, other: str | None) -> str | None:
        if value is None:
            return None
        if scheme and re.search("https?", scheme) and not value.strip() \
                and (other is None or not other.strip()):
            return None
        return normalize_component(value.strip(), UNRESERVED)
    user_n, password_n = part(user, password), part(password, user)
    if user_n is None:
        return None
    return user_n if password_n is None else f"{user_n}:{password_n}"


def _host(host: str) -> str:
    """normalized_host: lowercased before it is unencoded, IDNA, one trailing dot dropped."""
    if not host.strip():
        return ""
    result = unencode(host.strip().lower()).decode("utf-8", "replace")
    if not result.isascii():
        result = result.encode("idna").decode()
    if re.search(r"[^.]\.$", result):
        result = result[:-1]
    return normalize_component(result, HOST)


def _query(query: str) -> str | None:
    """normalized_query: each &-separated pair, "+" left encoded (%2B stays, uppercased)."""
    pairs = []
    for pair in query.split("&"):
        data = unencode(pair, "+")
        try:
            data = unicodedata.normalize("NFC", data.decode()).encode()
        except UnicodeDecodeError:
            pass
        text = "".join(chr(b) if chr(b) in QUERY else f"%{b:02X}" for b in data)
        pairs.append(re.sub(r"%25(2[Bb])", lambda m: "%" + m.group(1).upper(), text))
    return "&".join(pairs) or None


def validate(uri: str, scheme: str | None, host: str | None, path: str,
             has_userinfo: bool, has_port: bool) -> None:
    """URI#validate, run when parse builds the URI (on the components as given)."""
    if scheme is not None and scheme.strip().lower() in PORT_MAPPING and not host and not path:
        raise InvalidURIError(f"Absolute URI missing hierarchical segment: '{uri}'")
    if host is None and (has_port or has_userinfo):
        raise InvalidURIError(f"Hostname not supplied: '{uri}'")
    if path.startswith("//") and host is None:
        raise InvalidURIError("Cannot have a path with two leading slashes without an "
                              f"authority set: '{uri}'")
    bracketed = re.fullmatch(r"\[(.*)\]", host or "")
    if host is not None and (re.search(r'[<>{}/\\?#@"\s]', host) or (
            bracketed and not re.fullmatch(f"[{re.escape(UNRESERVED + SUB_DELIMS)}:]*",
                                           bracketed.group(1)))):
        raise InvalidURIError(f"Invalid character in host: '{host}'")


def normalize_uri(uri: str) -> str:
    """Addressable::URI.parse(uri).normalize.to_s; InvalidURIError as Addressable raises it."""
    match = URIREGEX.match(uri.split("\n", 1)[0])   # Ruby's $ ends the first line
    assert match is not None   # every group is optional
    scheme, authority, path, query, fragment = match.group(2, 4, 5, 7, 9)
    if scheme is not None and not re.fullmatch(r"[a-z][a-z0-9.+\-]*", scheme, re.I):
        raise InvalidURIError(f"Invalid scheme format: '{scheme}'")      # URI#scheme=
    user = password = host = None
    port = 0
    if authority is not None:
        if userinfo := re.match(r"^([^\[\]]*)@", authority):
            user = re.match(r"^([^:]*)", userinfo.group(1).strip()).group(1)  # type: ignore[union-attr]
            found = re.search(r":(.*)$", userinfo.group(1).strip())
            password = found.group(1) if found else None
        host = re.sub(r":([^:@\[\]]*?)$", "", re.sub(r"^([^\[\]]*)@", "", authority, count=1),
                      count=1)
        port_text = m.group(1) if (m := re.search(r":([^:@\[\]]*?)$", authority)) else ""
        port_text = unencode(port_text).decode("utf-8", "replace")      # URI#port=
        if port_text and not re.fullmatch(r"\d+", port_text):
            raise InvalidURIError(f'Invalid port number: "{port_text}"')
        port = int(port_text or 0)
    validate(uri, scheme, host, path, user is not None or password is not None, port != 0)
    if scheme is not None:
        scheme = ("svn+ssh" if re.fullmatch(r"\s*ssh\+svn\s*", scheme, re.I)
                  else normalize_component(scheme.strip().lower(), SCHEME))
    out = f"{scheme}:" if scheme is not None else ""
    if host is not None:
        shown = _userinfo(scheme, user, password)
        out += "//" + (f"{shown}@" if shown is not None else "") + _host(host)
        if port and PORT_MAPPING.get(scheme or "") != port:
            out += f":{port}"
    if scheme is None and re.match(r"^(?!/)[^/:]*:.*$", path):
        path = path.replace(":", "%2F", 1)
    path = normalize_path("/".join(normalize_component(segment, PCHAR)
                                   for segment in path.strip().split("/")))
    if not path and scheme in ("http", "https", "ftp", "tftp"):
        path = "/"
    out += path
    if query is not None and (normalized := _query(query)) is not None:
        out += f"?{normalized}"
    if fragment is not None:
        out += "#" + normalize_component(fragment, FRAGMENT)
    return out
