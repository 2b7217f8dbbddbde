#!/usr/bin/env python3
"""Build the public evaluation corpus: tuning.jsonl and held-out.jsonl.

Attack strings come from public, openly licensed collections nobody on this
project wrote; benign strings from openly licensed real-world text. Every line
keeps its source and that collection's license. The strings are split ONCE, at
random (seed below), into a tuning part (rules are written against it) and a
held-out part (measured only, never read while writing rules). Evasion variants
(see EVASIONS) follow the string they were made from, so a held-out string's
variants are held out too.

Sources are downloaded from package registries (pinned by version and SHA-256)
into a cache directory; three payload lists that are on no registry were copied
from their repositories into copied/ (see README.md). Needs Python 3.11 with
PyYAML and Faker 33.1.0:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install pyyaml faker==33.1.0
    /tmp/venv/bin/python build.py [--cache DIR]

Re-running it reproduces both files byte for byte.
"""

import argparse
import hashlib
import io
import json
import random
import re
import tarfile
import urllib.parse
import urllib.request
from pathlib import Path

import yaml
from faker import Faker

HERE = Path(__file__).resolve().parent
SEED = 26
HELD_OUT_SHARE = 0.4
# Strings per source file at most: the largest lists (tens of thousands of
# machine-generated lines) would otherwise drown the hand-collected ones.
PER_FILE_CAP = 150

DOWNLOADS = {
    # ModSecurity v3's source vendors libinjection with its test data (data/).
    "modsecurity": (
        "https://deb.debian.org/debian/pool/main/m/modsecurity/modsecurity_3.0.9.orig.tar.gz",
        "a5111ecd23e332a1d7c9652dbdb18517a96b21573315cb887a8e86761b95d3d8",
    ),
    # OWASP Core Rule Set 3.3.4 with its regression tests.
    "crs": (
        "https://deb.debian.org/debian/pool/main/m/modsecurity-crs/modsecurity-crs_3.3.4.orig.tar.gz",
        None,
    ),
    # The Big List of Naughty Strings.
    "blns": (
        "https://registry.npmjs.org/big-list-of-naughty-strings/-/big-list-of-naughty-strings-1.0.0.tgz",
        None,
    ),
}

# Crates whose README files give real-world prose, markdown code, URLs and paths.
CRATES = {
    "serde": "1.0.229", "serde_json": "1.0.154", "tokio": "1.54.1", "regex": "1.13.2",
    "clap": "4.6.10", "reqwest": "0.13.5", "sqlx": "0.9.1", "diesel": "2.4.0",
    "rusqlite": "0.43.0", "tokio-postgres": "0.7.18", "ripgrep": "15.2.0", "bat": "0.26.1",
    "fd-find": "10.5.0", "hyperfine": "2.0.0", "just": "1.59.0", "tera": "2.4.0",
    "chrono": "0.4.45", "rand": "0.10.4", "anyhow": "1.0.105", "thiserror": "2.0.21",
    "tracing": "0.1.44", "axum": "0.8.9", "actix-web": "4.18.1", "hyper": "1.13.0",
    "rayon": "1.12.0", "itertools": "0.15.0", "csv": "1.4.0", "sea-orm": "2.0.4",
    "refinery": "0.10.0", "deadpool-postgres": "0.14.2", "redis": "1.8.2", "config": "0.15.27",
    "dotenvy": "0.15.7", "walkdir": "2.5.1", "glob": "0.3.4", "duct": "1.1.2",
    "xshell": "0.2.7", "which": "8.0.6", "dirs": "7.0.0", "url": "2.5.9",
    "pulldown-cmark": "0.13.6", "ureq": "3.5.2", "git2": "0.21.0", "toml": "0.9.8",
    "uuid": "1.29.3", "time": "0.3.55", "log": "0.4.35", "env_logger": "0.11.12",
    "nom": "8.0.0", "pest": "2.9.6", "image": "0.25.10", "ratatui": "0.30.2",
    "crossterm": "0.29.0", "indicatif": "0.18.6", "tempfile": "3.27.0", "once_cell": "1.21.4",
    "bytes": "1.12.2", "futures": "0.3.34", "mio": "1.2.5", "warp": "0.4.3",
    "rocket": "0.5.2", "sled": "0.34.7", "rustls": "0.23.48", "lettre": "0.11.23",
    "handlebars": "6.4.4", "minijinja": "3.1.0", "askama": "0.16.1", "cargo-edit": "0.13.14",
    "tokei": "15.0.0", "starship": "1.27.0", "zoxide": "0.10.0",
}

# Other crates whose READMEs made the development set (`--development FILE`):
# benign text used while tuning to find false positives, in neither part.
DEVELOPMENT_CRATES = {
    "sqlite": "0.37.4", "postgres": "0.19.14", "mysql": "28.0.4", "mongodb": "3.9.1",
    "kafka": "0.10.0", "rdkafka": "0.39.0", "lapin": "4.12.3", "nats": "0.26.0",
    "tonic": "0.14.9", "prost": "0.14.6", "tower-http": "0.7.1", "http": "1.5.0",
    "reqwest-middleware": "0.5.2", "oauth2": "5.0.0", "jsonwebtoken": "12.0.0",
    "argon2": "0.6.0", "bcrypt": "0.19.3", "ring": "0.17.14", "aws-sdk-s3": "1.157.0",
    "rusoto_core": "0.48.0", "azure_core": "1.1.0", "google-cloud-storage": "1.21.0",
    "bollard": "0.21.1", "kube": "5.0.0", "k8s-openapi": "0.29.0",
    "docker-api": "0.14.0", "shiplift": "0.7.0", "nix": "0.32.0", "libc": "0.2.191",
    "winapi": "0.3.9", "windows": "0.62.2", "sysinfo": "0.40.4", "procfs": "0.18.0",
    "psutil": "5.4.0", "heim": "0.0.11", "notify": "8.2.2", "inotify": "0.11.5",
    "signal-hook": "0.4.6", "ctrlc": "3.5.3", "daemonize": "0.5.0",
    "structopt": "0.3.26", "argh": "0.1.19", "pico-args": "0.5.0", "gumdrop": "0.8.1",
    "docopt": "1.1.1", "serde_yaml": "0.9.34+deprecated", "ron": "0.12.3",
    "quick-xml": "0.42.0", "roxmltree": "0.21.2", "html5ever": "0.40.1",
    "scraper": "0.29.0", "select": "0.6.1", "kuchiki": "0.8.1", "markup5ever": "0.40.0",
    "ammonia": "4.2.5", "comrak": "0.59.0", "mdbook": "0.5.4", "cobalt-bin": "0.20.4",
    "yew": "0.23.0", "leptos": "0.8.23", "dioxus": "0.7.10", "tauri": "2.12.7",
    "egui": "0.37.0", "iced": "0.14.0", "druid": "0.8.3", "slint": "1.18.1",
    "gtk": "0.19.0", "wasm-bindgen": "0.2.130", "web-sys": "0.3.107",
    "js-sys": "0.3.107", "tokio-tungstenite": "0.30.0", "tungstenite": "0.30.0",
    "actix": "0.13.5", "rust-embed": "8.14.0", "include_dir": "0.7.4",
    "cargo-watch": "8.5.3", "cargo-make": "0.37.24", "cargo-generate": "0.26.0",
    "sccache": "0.19.0", "alacritty": "0.17.0", "helix-term": "0.0.0",
    "broot": "1.62.0", "lsd": "1.2.0", "exa": "0.10.1", "eza": "0.23.5",
    "dust": "0.1.0", "du-dust": "1.2.7", "procs": "0.14.12", "bottom": "0.15.0",
    "gitui": "0.28.1", "delta": "0.2.1", "git-delta": "0.20.1", "xh": "0.26.3",
    "miniserve": "0.35.0",
}

COPIED = {
    "payloadsallthethings-command-execution-unix.txt": (
        "command_injection",
        "PayloadsAllTheThings Command Injection/Intruder/command-execution-unix.txt",
        "MIT",
    ),
    "payloadsallthethings-command-exec.txt": (
        "command_injection",
        "PayloadsAllTheThings Command Injection/Intruder/command_exec.txt",
        "MIT",
    ),
    "seclists-lfi-jhaddix.txt": (
        "path_traversal",
        "SecLists Fuzzing/LFI/LFI-Jhaddix.txt",
        "MIT",
    ),
    "payloadsallthethings-traversals-8-deep-exotic-encoding.txt": (
        "path_traversal",
        "PayloadsAllTheThings Directory Traversal/Intruder/traversals-8-deep-exotic-encoding.txt",
        "MIT",
    ),
}
# What the traversal templates' {FILE} is replaced with (one per line, at random).
TEMPLATE_FILES = ["etc/passwd", "etc/shadow", "windows/win.ini", "boot.ini", "proc/self/environ"]

CRS_CATEGORIES = {
    "REQUEST-930-APPLICATION-ATTACK-LFI": "path_traversal",
    "REQUEST-932-APPLICATION-ATTACK-RCE": "command_injection",
    "REQUEST-941-APPLICATION-ATTACK-XSS": "xss",
    "REQUEST-942-APPLICATION-ATTACK-SQLI": "sql_injection",
}

# Rules whose tests are not injections a text filter can see: 942220 probes
# integer overflows with plain numbers (4294967296).
CRS_SKIPPED_RULES = {"942220"}

BLNS_ATTACK_SECTIONS = {
    "Script Injection": "xss",
    "SQL Injection": "sql_injection",
    "File Inclusion": "path_traversal",
}
# Sections that are attacks of kinds this filter does not claim (server-side
# template, Ruby, XXE) or known CVE strings: in neither part.
BLNS_SKIPPED_SECTIONS = {
    "Server Code Injection",
    "Command Injection (Ruby)",
    "XXE Injection (XML)",
    "Known CVEs and Vulnerabilities",
}


def fetch(url, sha256, cache):
    path = cache / url.rsplit("/", 1)[1]
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        path.write_bytes(urllib.request.urlopen(url, timeout=120).read())
    data = path.read_bytes()
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise SystemExit(f"{url}: SHA-256 mismatch")
    return tarfile.open(fileobj=io.BytesIO(data))


def members(archive, pattern):
    for member in archive.getmembers():
        if member.isfile() and re.search(pattern, member.name):
            yield member.name, archive.extractfile(member).read().decode("utf-8", "replace")


def url_decoded(text):
    """What an application receives for a query-string value: decoded once, `+` a
    space. Bytes that do not decode to UTF-8 (overlong forms such as `%c0%af`)
    cannot reach an application as text: such a string is kept encoded."""
    raw = urllib.parse.unquote_to_bytes(text.replace("+", " "))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return text


def capped(rng, lines):
    lines = list(dict.fromkeys(lines))
    if len(lines) > PER_FILE_CAP:
        lines = rng.sample(lines, PER_FILE_CAP)
    return lines


def libinjection(archive, rng):
    license = "BSD-3-Clause"
    for name, text in sorted(members(archive, r"others/libinjection/data/[^/]+\.txt$")):
        file = name.rsplit("/", 1)[1]
        lines = [l for l in text.splitlines() if l.strip() and not l.startswith("#")]
        if file.startswith("sqli-"):
            category = "sql_injection"
        elif file.startswith("xss-"):
            category = "xss"
            if file == "xss-shazzer.txt":
                lines = [l.split("|", 5)[-1] for l in lines]
        elif file == "false_positives.txt":
            for line in lines:
                yield ("benign", url_decoded(line), f"libinjection data/{file}", license)
            continue
        else:
            continue
        for line in capped(rng, lines):
            yield (category, url_decoded(line), f"libinjection data/{file}", license)


def crs_payloads(stage_input):
    """The attack values of one CRS regression test's request."""
    if "encoded_request" in stage_input or "raw_request" in stage_input:
        return []
    values = []
    data = stage_input.get("data")
    if isinstance(data, list):
        data = "\n".join(str(d) for d in data)
    uri = str(stage_input.get("uri", "/"))
    path, _, query = uri.partition("?")
    for text in (query, data):
        if not text or "Content-Disposition" in str(text):
            continue
        for pair in str(text).split("&"):
            name, _, value = pair.partition("=")
            values.append(url_decoded(value))
            if not re.fullmatch(r"\w+", name):
                values.append(url_decoded(name))
    if path not in ("", "/"):
        values.append(url_decoded(path))
    for header, value in (stage_input.get("headers") or {}).items():
        if header.lower() in ("cookie", "referer", "user-agent", "x-filename", "x_filename",
                              "x-file-name") and "OWASP ModSecurity Core Rule Set" not in str(value):
            if header.lower() == "cookie":
                for cookie in str(value).split(";"):
                    name, _, content = cookie.strip().partition("=")
                    values.append(url_decoded(content))
                    if not re.fullmatch(r"\w+", name):
                        values.append(url_decoded(name))
            else:
                values.append(url_decoded(str(value)))
    values = [v for v in values if v.strip()]
    # The value with the most punctuation (then the longest) carries the attack;
    # the others are the test's scaffolding.
    def weight(v):
        return (sum(not c.isalnum() and not c.isspace() for c in v), len(v))
    return [max(values, key=weight)] if values else []


def crs_paranoia_levels(archive):
    """Rule id -> paranoia level, from the rule files' `paranoia-level/N` tags."""
    levels = {}
    for _, text in members(archive, r"/rules/REQUEST-9\d\d-[^/]+\.conf$"):
        for rule in re.split(r"\n(?=SecRule)", text):
            rule_id = re.search(r"id:(\d+)", rule)
            level = re.search(r"paranoia-level/(\d)", rule)
            if rule_id and level:
                levels[rule_id.group(1)] = int(level.group(1))
    return levels


def crs(archive):
    """Tests of paranoia-level-1 rules (the rules CRS enables by default). The
    higher levels' tests are unit tests of rules that flag single tokens (`<=`,
    `chaR(`, `&&`) at the cost of false positives CRS itself warns about."""
    license = "Apache-2.0"
    levels = crs_paranoia_levels(archive)
    for name, text in sorted(members(archive, r"tests/regression/tests/REQUEST-9\d\d[^/]*/\d+\.yaml$")):
        folder = name.split("/")[-2]
        category = CRS_CATEGORIES.get(folder)
        rule_id = name.rsplit("/", 1)[1].removesuffix(".yaml")
        if category is None or levels.get(rule_id) != 1 or rule_id in CRS_SKIPPED_RULES:
            continue
        document = yaml.safe_load(text)
        for test in document.get("tests", []):
            for stage in test.get("stages", []):
                stage = stage.get("stage", stage)
                output = stage.get("output", {})
                if "log_contains" not in output:
                    continue
                for payload in crs_payloads(stage.get("input", {})):
                    yield (category, payload, f"OWASP CRS 3.3.4 tests/regression/{folder}/{name.rsplit('/', 1)[1]}", license)


def blns(archive):
    text = next(t for n, t in members(archive, r"package/blns\.txt$"))
    section, previous = None, ""
    for line in text.splitlines():
        if line.startswith("#"):
            # A heading is a comment line after a blank line (or the first line).
            if previous.strip() == "" and line.lstrip("#").strip():
                section = line.lstrip("#").strip()
            previous = line
            continue
        previous = line
        if not line.strip() or section in BLNS_SKIPPED_SECTIONS:
            continue
        source = f"Big List of Naughty Strings blns.txt ({section})"
        yield (BLNS_ATTACK_SECTIONS.get(section, "benign"), line, source, "MIT")


def copied(rng):
    for file, (category, source, license) in COPIED.items():
        for line in (HERE / "copied" / file).read_text().splitlines():
            if line.strip():
                line = line.replace("{FILE}", rng.choice(TEMPLATE_FILES))
                yield (category, url_decoded(line) if "%" in line else line, source, license)


def readme_items(text):
    """Paragraphs, list items, fenced code blocks, URLs and paths of a README."""
    items = []
    for block in re.findall(r"```[^\n]*\n.*?```", text, flags=re.S):
        if len(block) < 600:
            items.append(block)
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    for paragraph in re.split(r"\n\s*\n", prose):
        paragraph = paragraph.strip()
        if not paragraph or paragraph.startswith(("<", "[![", "|", "![")):
            continue
        if paragraph.startswith(("-", "*")):
            items.extend(l.lstrip("-* ").strip() for l in paragraph.splitlines() if len(l) > 12)
        elif 20 <= len(paragraph) <= 1200:
            items.append(paragraph)
    items.extend(re.findall(r"https?://[^\s)>\]\"']+", text))
    items.extend(re.findall(r"`((?:\.{0,2}/)?(?:[\w.-]+/)+[\w.-]+)`", text))
    return items


def crates(cache, rng, crates=CRATES, sample=40):
    for name, version in crates.items():
        url = f"https://static.crates.io/crates/{name}/{name}-{version}.crate"
        archive = fetch(url, None, cache)
        readme = next((t for n, t in members(archive, r"^[^/]+/README\.md$")), None)
        manifest = next((t for n, t in members(archive, r"^[^/]+/Cargo\.toml$")), "")
        license = re.search(r'^license\s*=\s*"([^"]+)"', manifest, flags=re.M)
        license = license.group(1) if license else "see crate"
        description = re.search(r'^description\s*=\s*"""(.*?)"""|^description\s*=\s*"((?:[^"\\]|\\.)*)"', manifest, flags=re.M | re.S)
        if description:
            yield ("benign", (description.group(1) or description.group(2)).strip(), f"crate {name} {version} Cargo.toml description", license)
        if readme:
            items = list(dict.fromkeys(readme_items(readme)))
            for item in (rng.sample(items, sample) if len(items) > sample else items):
                yield ("benign", item, f"crate {name} {version} README.md", license)


def faker_strings():
    """Names, addresses, companies, product-style phrases, JSON, URLs and paths."""
    license = "MIT"
    locales = ["en_GB", "en_IE", "en_US", "fr_FR", "de_DE", "it_IT", "es_ES", "pt_BR", "nl_NL",
               "pl_PL", "tr_TR", "ja_JP", "zh_CN", "zh_TW", "ko_KR", "ru_RU", "uk_UA", "el_GR",
               "he_IL", "ar_AA", "fa_IR", "hi_IN", "th_TH", "bn_BD", "ka_GE", "hy_AM"]
    for locale in locales:
        fake = Faker(locale)
        fake.seed_instance(SEED)
        source = f"Faker 33.1.0 ({locale})"
        for _ in range(12):
            yield ("benign", fake.name(), source + " name", license)
        for _ in range(4):
            yield ("benign", fake.address(), source + " address", license)
        for _ in range(3):
            yield ("benign", fake.company(), source + " company", license)
        for _ in range(3):
            yield ("benign", fake.paragraph(nb_sentences=3), source + " text", license)
    fake = Faker("en_US")
    fake.seed_instance(SEED)
    for _ in range(60):
        yield ("benign", fake.catch_phrase() + ". " + fake.bs().capitalize() + ".", "Faker 33.1.0 (en_US) catch phrase", license)
    for _ in range(60):
        yield ("benign", fake.url() + fake.uri_path() + "?" + fake.uri_extension().strip("."), "Faker 33.1.0 (en_US) URL", license)
    for _ in range(60):
        yield ("benign", fake.file_path(depth=rng_depth(fake), absolute=fake.boolean()), "Faker 33.1.0 (en_US) file path", license)
    for _ in range(80):
        document = {
            "name": fake.name(), "email": fake.email(), "company": fake.company(),
            "price": fake.pricetag(), "discount": f"{fake.random_int(1, 90)}%",
            "sku": fake.bothify("??-####-#?"), "tags": fake.words(3),
            "note": fake.sentence(), "site": fake.url(),
        }
        yield ("benign", json.dumps(document, ensure_ascii=False), "Faker 33.1.0 (en_US) JSON", license)


def rng_depth(fake):
    return fake.random_int(1, 4)


# Evasion families: each transforms a public string of its category into the
# spellings testers use to slip past filters.
def _ws(replacement):
    return lambda s: re.sub(r" +", replacement, s.strip()) if " " in s.strip() else None


def _percent_u(s, wide=False):
    out = []
    for c in s:
        if c.isalnum():
            out.append(c)
        elif wide and 0x21 <= ord(c) <= 0x7E:
            out.append(f"%u{0xFF00 + ord(c) - 0x20:04X}")
        else:
            out.append(f"%u{ord(c):04X}")
    return "".join(out)


def _overlong(s):
    return "".join(
        c if c.isalnum() or c == " " else f"%{0xC0 | (ord(c) >> 6):02X}%{0x80 | (ord(c) & 0x3F):02X}"
        for c in s if ord(c) < 0x80)


def _entities(s, style):
    def one(c, following):
        if c.isalnum() or c == " ":
            return c
        # A reference without `;` runs on through the digits after it.
        end = ";" if following.isdigit() else ""
        return {"dec": f"&#{ord(c)};", "hex": f"&#x{ord(c):x};", "padded": f"&#{ord(c):07d}{end}"}[style]
    return "".join(one(c, s[i + 1:i + 2]) for i, c in enumerate(s))


def _double(s):
    return "".join(c if c.isalnum() else f"%25{ord(c):02X}" for c in s if ord(c) < 0x80)


def _backslash(s):
    return "".join(c if c.isalnum() or c == " " else f"\\x{ord(c):02x}" for c in s if ord(c) < 0x80)


def _keywords(s, wrap):
    return re.sub(r"(?i)\b(union|select|from|where|and|or|sleep|insert|into|values|order|by)\b", wrap, s)


def _shell_word(s, transform):
    def word(m):
        return transform(m.group(0))
    out = re.sub(r"(?<![\w/.-])(cat|id|whoami|uname|ls|wget|curl|nc|bash|sh|ping|sleep|echo|passwd|etc|bin|usr)(?![\w])", word, s)
    return out if out != s else None


def _glob(s):
    out = re.sub(r"/(bin|etc|usr|tmp|dev)/(\w+)", lambda m: "/" + "?" * len(m.group(1)) + "/" + m.group(2)[0] + "?" * (len(m.group(2)) - 1), s)
    return out if out != s else None


LOOKALIKE_DOTS = ["\uff0e", "\u2024", "\ufe52"]
LOOKALIKE_SLASHES = ["\uff0f", "\u2215", "\u2044", "\uff3c"]

EVASIONS = {
    "sql_injection": {
        "comment-separator": _ws("/**/"),
        "hash-newline": _ws("#\n"),
        "dash-newline": _ws("--\n"),
        "mysql-executable-comment": lambda s: _keywords(s, lambda m: f"/*!{m.group(0)}*/"),
        "mysql-versioned-comment": lambda s: _keywords(s, lambda m: f"/*!50000{m.group(0)}*/"),
        "percent-u": _percent_u,
        "percent-u-fullwidth": lambda s: _percent_u(s, wide=True),
        "overlong-utf8": _overlong,
        "double-encoding": _double,
        "html-entities": lambda s: _entities(s, "dec"),
    },
    "xss": {
        "percent-u": _percent_u,
        "percent-u-fullwidth": lambda s: _percent_u(s, wide=True),
        "overlong-utf8": _overlong,
        "double-encoding": _double,
        "html-entities-hex": lambda s: _entities(s, "hex"),
        "html-entities-padded": lambda s: _entities(s, "padded"),
        "backslash-escapes": _backslash,
    },
    "command_injection": {
        "quotes-in-names": lambda s: _shell_word(s, lambda w: w[0] + "'" + w[1:] + "'" if len(w) > 1 else "'" + w + "'"),
        "double-quotes-in-names": lambda s: _shell_word(s, lambda w: w[0] + '""' + w[1:]),
        "backslash-in-names": lambda s: _shell_word(s, lambda w: "\\".join(w)),
        "backslash-newline": lambda s: _shell_word(s, lambda w: w[0] + "\\\n" + w[1:] if len(w) > 1 else None or w),
        "ifs": _ws("${IFS}"),
        "ifs-bare": _ws("$IFS"),
        "empty-expansion": lambda s: _shell_word(s, lambda w: w[0] + "$@" + w[1:] if len(w) > 1 else w),
        "glob": _glob,
        "percent-encoding": lambda s: urllib.parse.quote(s, safe=""),
    },
    "path_traversal": {
        "fullwidth-dots-slashes": lambda s: s.replace(".", LOOKALIKE_DOTS[0]).replace("/", LOOKALIKE_SLASHES[0]) if ".." in s else None,
        "dot-leaders": lambda s: s.replace("..", LOOKALIKE_DOTS[1] * 2) if ".." in s else None,
        "small-full-stops": lambda s: s.replace("..", LOOKALIKE_DOTS[2] * 2) if ".." in s else None,
        "division-slash": lambda s: s.replace("/", LOOKALIKE_SLASHES[1]) if "/" in s else None,
        "fraction-slash": lambda s: s.replace("/", LOOKALIKE_SLASHES[2]) if "/" in s else None,
        "fullwidth-backslash": lambda s: s.replace("/", LOOKALIKE_SLASHES[3]) if "/" in s else None,
        "percent-u-dots": lambda s: s.replace(".", "%u002e").replace("/", "%u2215") if ".." in s else None,
        "overlong-utf8": _overlong,
        "double-encoding": _double,
    },
}
SEEDS_PER_FAMILY = 24


def bare_name(category, payload):
    """A bare word or file name: an attack only in a context no filter can see
    (a parameter passed to a shell or a file API), otherwise ordinary text."""
    stripped = payload.strip()
    if category == "command_injection":
        return re.fullmatch(r"[\w.-]+", stripped) is not None
    if category == "path_traversal":
        return re.fullmatch(r"[\w.-]+(?: [\w.-]+)?", stripped) is not None
    return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", default="/tmp/edge-corpus-sources")
    parser.add_argument("--development", help="also write the development set here")
    arguments = parser.parse_args()
    cache = Path(arguments.cache)
    if arguments.development:
        rows = crates(cache, random.Random(SEED), DEVELOPMENT_CRATES, sample=10**6)
        lines = [json.dumps({"category": c, "payload": p, "source": s, "license": l},
                            ensure_ascii=False) for c, p, s, l in rows if c == "benign"]
        Path(arguments.development).write_text("\n".join(lines) + "\n")
    rng = random.Random(SEED)

    rows = []
    rows += libinjection(fetch(*DOWNLOADS["modsecurity"], cache), rng)
    rows += crs(fetch(*DOWNLOADS["crs"], cache))
    rows += blns(fetch(*DOWNLOADS["blns"], cache))
    rows += copied(rng)
    rows += crates(cache, rng)
    rows += faker_strings()

    seen = set()
    groups = []  # lists of rows split together
    for category, payload, source, license in rows:
        payload = payload.replace("\r\n", "\n")
        if not payload.strip() or bare_name(category, payload) or (category, payload) in seen:
            continue
        seen.add((category, payload))
        groups.append([{"category": category, "payload": payload, "source": source, "license": license}])

    # Evasion variants, each family applied to seeds drawn from its category.
    for category, families in EVASIONS.items():
        bases = [g for g in groups if g[0]["category"] == category and len(g[0]["payload"]) < 200]
        for family, transform in families.items():
            made = 0
            for group in rng.sample(bases, len(bases)):
                if made == SEEDS_PER_FAMILY:
                    break
                base = group[0]
                variant = transform(base["payload"])
                if not variant or variant == base["payload"] or (category, variant) in seen:
                    continue
                seen.add((category, variant))
                group.append({"category": category, "payload": variant,
                              "source": f"{base['source']}, evasion {family}", "license": base["license"]})
                made += 1

    rng.shuffle(groups)
    cut = int(len(groups) * (1 - HELD_OUT_SHARE))
    for name, part in (("tuning.jsonl", groups[:cut]), ("held-out.jsonl", groups[cut:])):
        lines = sorted(json.dumps(row, ensure_ascii=False, sort_keys=True) for g in part for row in g)
        (HERE / name).write_text("\n".join(lines) + "\n")
        counts = {}
        for g in part:
            for row in g:
                counts[row["category"]] = counts.get(row["category"], 0) + 1
        print(name, dict(sorted(counts.items())))


if __name__ == "__main__":
    main()
