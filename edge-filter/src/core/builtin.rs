//! The built-in rules: patterns per category (with the shell vocabulary they
//! share) and libinjection's SQL tokenizer ([`Rule::sql_tokenizer`]). Each
//! pattern is written against the public corpus's tuning part
//! (`tests/corpus/public/`) and matched over normalized text.

use crate::core::rules::{Category, Rule};

/// Command names that are not English words: any use after a separator is suspect.
const COMMANDS: &str = r"(?:whoami|uname|wget|curl|nc|ncat|netcat|bash|sh|zsh|ksh|csh|dash|python[23]?|perl|ruby|php|nslookup|ifconfig|ipconfig|powershell|chmod|chown|mkfifo|telnet|base64|xxd|tftp|printenv|passwd|useradd|crontab|systemctl|pwd|ls|rm|id|netstat|sysinfo|systeminfo|tasklist|taskkill|wmic|certutil|bitsadmin|rundll32|regsvr32|mshta|cscript|wscript|netsh|phpinfo)";

/// Command names that are also English words: suspect only with shell-like arguments.
const WORDISH_COMMANDS: &str = r"(?:cat|echo|ping|sleep|touch|type|dir|find|head|tail|env|kill|dig|ssh|scp|cmd|more|less|sort|grep|awk|sed|cp|mv|net|nohup|exit|timeout|route|reg|set|start|copy|del)";

/// Where a chained command starts: a shell separator, `$(`, or a backtick
/// right after `=`, `;`, `|`, `&` or `$` (not a markdown code span in prose,
/// and not a ``` fence).
const SEPARATOR: &str = r"(?:[;&|\n]|\\n|\$\(\s*`?|[=;|&$]\s*`)";

/// A path in front of a command name (`/bin/`, `/usr/bin/`, `\\`).
const COMMAND_PATH: &str = r"(?:sudo\s+)?(?:[/\\]?(?:usr/)?s?bin/)?";

/// What follows a command: a flag, a path, a variable, a file name, a number at
/// the end, or words and then a redirection.
const SHELL_ARGUMENT: &str = r"\s+(?:-{1,2}[a-z]|/|~/?|\.{1,2}/|\$|%\w+%|[a-z]:\\|[\w.-]+\.(?:txt|sh|log|conf|ini|php|py|pl|passwd|xml|json|db)\b|\d+\s*(?:$|[;&|`])|[^;&|\n<>]*?(?:>{1,2}|\s<)\s*[/~$.\w])";

/// The built-in rules.
pub fn default_rules() -> Vec<Rule> {
    use Category::*;
    let sqli = |id, description, pattern: &str| Rule::new(id, SqlInjection, description, pattern);
    let xss = |id, description, pattern: &str| Rule::new(id, Xss, description, pattern);
    let traversal =
        |id, description, pattern: &str| Rule::new(id, PathTraversal, description, pattern);
    let cmd =
        |id, description, pattern: &str| Rule::new(id, CommandInjection, description, pattern);
    vec![
        // SQL injection.
        sqli(
            "sqli-union-select",
            "UNION [ALL] SELECT",
            r"union(?:\s+(?:all|distinct))?\s*\(?\s*select\b",
        ),
        sqli(
            "sqli-tautology",
            "a quote closed, then OR/AND with an always-true comparison",
            r#"['"]\s*\)*\s*(?:or|and|xor|\|\||&&)\s*(?:not\s+)?\(?\s*(?:['"`]?[\w.]*['"`]?\s*(?:=|<>|!=|<=>|>=?|<=?|\blike\b|\bis\s+(?:not\s+)?(?:null|true|false)\b|\bin\s*\()|\d+\s*(?:$|--|#|;|\)|=|<|>)|true\b|false\b|null\b|exists\s*\(|\w+\s*\()"#,
        ),
        sqli(
            "sqli-numeric-tautology",
            "OR/AND with a number equal (or unequal) to a number",
            r"\b(?:or|and)\s+\(?\s*\d+\s*(?:=|<>|!=)\s*\(?\s*\d+\b",
        ),
        sqli(
            "sqli-stacked-query",
            "a statement ended, then a SQL statement begun",
            r#"['"]?\s*;\s*(?:drop\s+(?:table|database|schema)|delete\s+from|insert\s+into|update\s+[\w`"\[\].]+\s+set\b|truncate\s+(?:table\s+)?[\w`]|alter\s+(?:table|user|database)|create\s+(?:table|user|database|function|procedure)\b|exec(?:ute)?\s+[\w@]|declare\s+@|shutdown\b|grant\s+all|set\s+@)|['"]\s*(?:drop\s+(?:table|database)\s+[\w`"\[\].]+\s*(?:--|#|$)|exec(?:ute)?\s+(?:master|xp_|sp_)|shutdown\b|waitfor\s+delay)|;\s*select\s+(?:\*|@@|\d|null\b|version|user\b|sleep|pg_sleep|load_file|count\s*\()"#,
        ),
        sqli(
            "sqli-comment-terminator",
            "a quote closed, then the rest commented out",
            r#"['"]\s*\)*\s*(?:;\s*)?(?:--[\s-]*(?:$|\n)|#(?:\n|$)|/\*)"#,
        ),
        sqli(
            "sqli-time-based",
            "time-based blind injection functions",
            r"\b(?:sleep|benchmark|pg_sleep|dbms_lock\.sleep|dbms_pipe\.receive_message)\s*\(\s*\d|\bwaitfor\s+delay\b",
        ),
        sqli(
            "sqli-schema-probe",
            "reads of the database catalogue",
            r"\b(?:information_schema|pg_catalog|pg_shadow|mysql\.user|sys\.(?:objects|tables|columns)|sysobjects|syscolumns|sqlite_master|all_tables|user_tables)\b",
        ),
        sqli(
            "sqli-file-access",
            "file reads and writes through SQL",
            r"\bload_file\s*\(|\binto\s+(?:out|dump)file\b|\bpg_read_file\s*\(|\bcopy\s+\w+\s+(?:from|to)\s+program\b|\bbulk\s+insert\b",
        ),
        sqli(
            "sqli-exec-procedure",
            "dangerous stored procedures",
            r"\b(?:exec|execute)\b\s*\(?\s*(?:master\.+)?(?:dbo\.+)?(?:xp_|sp_)\w+|\bexec(?:ute)?\s+master\.|\bexec(?:ute)?\s*\(\s*@|\bexecute\s+immediate\b|\bdeclare\s+@\w+",
        ),
        sqli(
            "sqli-drop-table",
            "a statement that drops or empties a table",
            r#"(?:^|;)\s*(?:drop|truncate|alter)\s+(?:table|database|schema)\s+[\w`"\[\].]+|\bdrop\s+(?:table|database)\s+(?:if\s+exists\s+)?[\w`"\[\].]+\s*(?:;|--|#)"#,
        ),
        sqli(
            "sqli-quoted-keyword",
            "a quote closed and a SQL clause appended",
            r#"['"]\s*\)*\s*(?:;\s*select\s|(?:\)\s*)+select\s|;?\s*(?:(?:order|group)\s+by\s+[\w]+\s*(?:--|#|$|,)|having\s+\d|exec\s|drop\s+(?:table|database|schema|user|function|procedure|view|index)\b))"#,
        ),
        sqli(
            "sqli-functions",
            "string and conversion functions typical of payloads",
            r"\b(?:char|nchar|chr|concat|concat_ws|group_concat|extractvalue|updatexml|convert|cast|ascii|substring|substr|mid|hex|unhex)\s*\(\s*(?:0x[0-9a-f]+|\d+\s*(?:,\s*\d+\s*)+\)|select\b|@@|\(\s*select\b|[\w@]+\s*,\s*(?:0x|\(select|concat))",
        ),
        sqli(
            "sqli-system-variable",
            "@@version and friends",
            r"@@(?:version|datadir|hostname|basedir|servername)\b|\bversion\s*\(\s*\)|\bdatabase\s*\(\s*\)|\buser\s*\(\s*\)\s*(?:--|#|\))",
        ),
        sqli(
            "sqli-order-by-probe",
            "ORDER BY / GROUP BY column-count probing",
            r"\b(?:order|group)\s+by\s+\d+\s*(?:--|#|/\*|$)",
        ),
        sqli(
            "sqli-subquery",
            "a parenthesised SELECT ... FROM table (a subquery)",
            r#"\(\s*select\b[^;]*?\bfrom\s+[\w.$\[\]`"]+\s*(?:\)|,|\s+(?:as|limit|where|join|order|group|t\d|\w+\s*,))"#,
        ),
        sqli(
            "sqli-numeric-union",
            "UNION right after a number (a numeric parameter closed)",
            r"(?:^|[\s(=/*+-])-?(?:0x[0-9a-f]*|[\d.]+(?:e\d+|f|d)?)\s*union\s*(?:$|select\b|all\b|distinct\b|\(|--|#)|\bunion\s*\(\s*select\b",
        ),
        sqli(
            "sqli-between-tautology",
            "AND/OR with a constant BETWEEN",
            r"\b(?:and|or)\s+\d+\s+(?:not\s+)?between\s+\d+\s+and\s+\d+",
        ),
        sqli(
            "sqli-quote-operator-tautology",
            "a quote closed, then OR/XOR/AND glued to a negation or sign and a value",
            r#"['"]\s*(?:or|and|xor)\s*[!~+-]+\s*['"\d(]|['"](?:or|and|xor)['"]\s*\d"#,
        ),
        sqli(
            "sqli-dangling-query",
            "a query cut off after WHERE, a SELECT of parentheses, an alias and FROM",
            r#"\bselect\b[^;]*?\bfrom\b[^;]*?\bwhere\s*$|\bselect\s*\(+\s*[\d(]|[)`'"\d]\s*as\s+[`'"]?[\w-]+[`'"]?\s+from\s*(?:$|[`"]?\w+[`"]?\s*(?:$|where\b|join\b|limit\b|,|=))|\bselect[^;\n]*?``\s*\d|(?:^|[/;'"])\s*create\s+(?:table|database|user)\s+[\w`"]+"#,
        ),
        sqli(
            "sqli-probe-function",
            "information functions and payload SELECTs standing alone",
            r"\b(?:current_user|database|db_name|schema|version|session_user|system_user|user)\s*\(\s*(?:\)|$|\n)|\bselect\s+(?:pg_sleep|sleep|benchmark|char|chr|group_concat|concat|load_file|version|user|database)\s*(?:\(|$)|\(\s*select\s+(?:substr|substring|mid|count|char|concat|ascii|\w+\s*\()\s*\(|(?:\d|['\x22])\s*\)*\s*(?:and|or)\s*\(+\s*select\b|\)\s*(?:or|and)\s*\(\s*select\b",
        ),
        sqli(
            "sqli-conditional",
            "conditions typical of blind injection: HAVING (1 OR 1), CASE WHEN 1=1, ODBC {if ...}",
            r"\bhaving\s*\(?\s*(?:\d+|true|false)\s+(?:or|and)\b|\bcase\s+(?:\d+\s+when\b|when\s*\(?\s*\d+\s*(?:=|<>|!=|<|>)\s*\d+)|\{\s*(?:if\s+(?:length|ascii|substr\w*|mid|ord|char|count)\s*\(|call\s+\w+\s*\()",
        ),
        sqli(
            "sqli-string-building",
            "strings built from character codes and concatenation (CHR(116)||, ||lpad(, ASCII(SUBSTRING(",
            r"\bchr\s*\(\s*\d+\s*\)\s*\|\||\|\|\s*(?:lpad|rpad|chr|char|concat|substr|user|version)\s*\(|\b(?:ascii|ord|length|hex|unhex)\s*\(\s*(?:substring|substr|mid|left|right|char)\s*\(",
        ),
        sqli(
            "sqli-nosql-operator",
            "MongoDB query operators in a parameter ([$ne], [$regex])",
            r"\[\s*\$(?:ne|eq|lt|lte|gt|gte|in|nin|regex|where|exists|or|and|not|nor|expr)\s*\]",
        ),
        sqli(
            "sqli-numeric-comment",
            "a number (or arithmetic) and then the rest commented out",
            r"^\s*-?\d+(?:\s*[-+*/%]\s*\d+)*\s*--\s*$",
        ),
        sqli(
            "sqli-hex-literal",
            "long hex literals compared or selected",
            r"(?:=|\bselect\s|,)\s*0x[0-9a-f]{8,}\b",
        ),
        // Cross-site scripting.
        xss(
            "xss-script-tag",
            "a script element (also namespaced, or spelled with high-bit angle brackets)",
            r"<\s*/?\s*(?:[\w-]+\s*:\s*)?script\b|(?:1/4|¼)\s*/?\s*script",
        ),
        xss(
            "xss-event-handler",
            "an element with an on* event handler",
            r"<\s*[a-z][a-z0-9:-]*\b[^>]*?[\s/\x22'`]on[a-z]{3,}\s*=|(?:^|[\s\x22'/`;])on(?:load|error|mouse[a-z]+|focus[a-z]*|blur|click|dblclick|key[a-z]+|submit|change|input|toggle|animation[a-z]+|transition[a-z]+|begin|end|pageshow|hashchange|message|scroll|wheel|drag[a-z]*|drop|pointer[a-z]+|touch[a-z]+|resize|copy|cut|paste|play[a-z]*|show|abort|readystatechange|beforeunload|unload|popstate|afterprint|beforeprint)\s*=",
        ),
        xss(
            "xss-script-url",
            "javascript:, vbscript: or data:text/html URLs",
            r"(?:j\s*a\s*v\s*a|v\s*b|l\s*i\s*v\s*e)\s*s\s*c\s*r\s*i\s*p\s*t\s*:|\bdata\s*:\s*(?:text/html|application/(?:x-)?javascript|image/svg\+xml)",
        ),
        xss(
            "xss-dangerous-element",
            "elements that load or run active content",
            r"(?:^|[^\w])<\s*/?\s*(?:iframe|frame|frameset|object|embed|applet|meta|base|link|svg|math|xml|import|isindex|portal|style|template|keygen|animate|set)\b[^>]*(?:>|$)|<\s*(?:iframe|frame|object|embed|applet|meta|base|link|svg|math|import|isindex|portal|style)\s+[\w:-]+\s*=|<\?\s*import\b|<\s*xsl\s*:\s*stylesheet\b",
        ),
        xss(
            "xss-dom-sink",
            "scripts reaching into the DOM",
            r"\b(?:document\s*\.\s*(?:cookie|domain|write(?:ln)?\s*\(|location)|window\s*\.\s*(?:location|name|open)\b|\.innerhtml\s*=|eval\s*\(\s*(?:atob|unescape|string\.fromcharcode|location|name|['\x22`])|settimeout\s*\(\s*['\x22`]|new\s+function\s*\(|fromcharcode\s*\(|(?:alert|prompt|confirm)\s*(?:\(\s*(?:-?\d|/|document\b|window\b|this\b|top\b|self\b|parent\b|string\b|[a-z_$]+\s*\.|['\x22`][^'\x22`]{0,24}['\x22`]\s*\))|`[^`\s]{0,24}`))",
        ),
        xss(
            "xss-css-expression",
            "CSS expressions and behaviours",
            r"[:=]\s*expression\s*\(|\bexpression\s*\(\s*(?:alert|eval|prompt|confirm|javascript|document|window)\b|-moz-binding\s*:|\bbehaviou?r\s*:\s*url|@import\s+['\x22]?(?:url|javascript|//)|\bstyle\s*=\s*['\x22]?[^>]*?(?:url\s*\(|behaviou?r\s*:|expression\s*\(|@import|font-family\s*:\s*['\x22][^'\x22]*[\[{;])",
        ),
        xss(
            "xss-srcdoc",
            "srcdoc and formaction attributes",
            r"\b(?:srcdoc|formaction|xlink:href)\s*=",
        ),
        xss(
            "xss-tag-break-out",
            "an attribute or tag closed and a new element begun",
            r#"['"]\s*/?>\s*<\s*/?\s*(?:script|iframe|frame|svg|object|embed|math|style|base|meta|link|form|isindex|marquee|xss|x|a\s+href\s*=\s*['"]?\s*javascript)\b"#,
        ),
        xss(
            "xss-script-object-access",
            "script reaching globals through brackets or JSFuck (`self[\"alert\"]`, `![]`)",
            r#"\b(?:document|window|self|top|parent|frames|globalthis|this)\s*\)?\s*\[\s*['"`]\s*(?:cookie|alert|eval|location|domain|write|constructor|prompt|confirm|open|fetch|document|\\x|\$)|(?:[(+!]\s*!|!\s*!)\s*\[\s*\]|!\s*\[\s*\]\s*[+)]"#,
        ),
        xss(
            "xss-markup-tricks",
            "markup that smuggles a tag: spaced-out tag names, UTF-7 angle brackets, XML entities and schema locations",
            r"<\s*[a-z](?:\s+[a-z]){3,}\b|<\s*xi\s*:\s*include\b|\bdata(?:src|fld|formatas)\s*=|\+ad[w4]-|<!\s*(?:doctype|entity)\b[^>]*\b(?:system|public)\b|<!\s*entity\b|\bxsi\s*:\s*schemalocation\s*=",
        ),
        // Path traversal.
        traversal(
            "traversal-dot-dot",
            "../ or ..\\ sequences",
            r#"(?:^|[/\\=:\s'"])\.{2,}[/\\;]|[/\\]\.{2,}[/\\;%]|[/\\]\.\.$|^\.\.$"#,
        ),
        traversal(
            "traversal-sensitive-file",
            "well-known sensitive files",
            r"(?:^|[/\\])(?:etc[/\\](?:passwd|shadow|group|hosts|issue|sudoers|crontab)|proc[/\\](?:self|\d+)[/\\]|windows[/\\](?:win\.ini|system32)|boot\.ini|\.ssh[/\\]|\.htaccess|\.htpasswd|\.env\b|web\.config|\.git[/\\])",
        ),
        traversal(
            "traversal-absolute-root",
            "absolute paths to system directories",
            r"^[/\\](?:etc|proc|sys|var[/\\]log|root|usr[/\\]local[/\\]etc|dev)(?:[/\\]|$)|\bfile:/{2,}|^[/\\]?[a-z]:[/\\]?(?:windows|winnt|boot|inetpub|system32|appserv|xampp|wamp)\b",
        ),
        traversal(
            "traversal-server-file",
            "absolute paths to server logs, configuration and shell files",
            r"(?:^|[\s=:'\x22])(?:[a-z]:)?[/\\](?:[\w .-]+[/\\])*(?:(?:access|error)[._]log|desktop\.ini|(?:httpd|apache2?|php|my|nginx|proftpd|vsftpd|pure-ftpd|ssl)\.(?:conf|ini|cnf)|config\.(?:php|asp|inc\.php|inc)|global\.asa|metabase\.xml|win\.ini|\.bash_history|\.bash_profile|\.bashrc|\.cshrc|\.profile|\.forward|\.logout|\.mysql_history)\b",
        ),
        // Command injection (also matched on the shell view: see `shell_view`).
        cmd(
            "cmd-chained-command",
            "a separator, then a shell command",
            &format!(r"{SEPARATOR}\s*{COMMAND_PATH}{COMMANDS}\b(?:\s|$|[;&|`)<>'\x22\\])"),
        ),
        cmd(
            "cmd-chained-word-command",
            "a separator, then an English-looking command with shell arguments",
            &format!(r"{SEPARATOR}\s*{COMMAND_PATH}{WORDISH_COMMANDS}{SHELL_ARGUMENT}"),
        ),
        cmd(
            "cmd-leading-command",
            "a value that starts with a shell command and its arguments",
            &format!(
                r"^\s*{COMMAND_PATH}(?:{COMMANDS}|{WORDISH_COMMANDS})\s+(?:-{{1,2}}[a-z]|/[\w.*?]|~/|\.{{1,2}}/|\$|[a-z]:\\|(?:https?|ftp)://|[^;&|\n<>]*?>{{1,2}}\s*[/~$.\w])|^\s*(?:sleep|timeout)\s+\d+\s*$"
            ),
        ),
        cmd(
            "cmd-substitution",
            "$(...) or backtick substitution of a command",
            &format!(
                r"\$\(\s*(?:{COMMANDS}|{WORDISH_COMMANDS}|/)|(?:[=;|&$]\s*|^\s*)`\s*{COMMAND_PATH}(?:{COMMANDS}|{WORDISH_COMMANDS})(?:\s[^`]*)?`\s*(?:$|[;&|#'\x22)])|[=;|&$]\s*`\s*{COMMAND_PATH}(?:{COMMANDS}|{WORDISH_COMMANDS})(?:\s[^`]*)?`|\$\{{(?:ifs|path|home|shell)\}}"
            ),
        ),
        cmd(
            "cmd-shell-path",
            "paths to shells and interpreters",
            r"(?:^|[\s;&|`'\x22(=])/(?:usr/)?s?bin/(?:ba|z|k|c|tc|da)?sh\b|\bcmd(?:\.exe)?\s+/[ck]\b|\bpowershell(?:\.exe)?\s+-|/dev/(?:tcp|udp)/",
        ),
        cmd(
            "cmd-download-pipe",
            "downloads piped to a shell, reverse shells",
            r"\b(?:curl|wget)\b[^|;&]*\|\s*(?:ba)?sh\b|\b(?:nc|ncat|netcat)\b[^;&|]*\s-[a-z]*e\s|\bmkfifo\b",
        ),
        cmd(
            "cmd-glob-path",
            "a system path spelled with wildcards (/???/c?t, /et*/passwd)",
            r"(?:^|[\s;&|`'\x22(=<>])/[a-z]*[?*][a-z?*]*/|(?:^|[\s;&|`'\x22(=<>])/(?:usr/)?s?bin/[a-z]*[?*]",
        ),
        cmd(
            "cmd-windows",
            "Windows shell commands: net, reg, netsh, FOR and IF batch syntax, %VAR:~n,m%",
            &format!(
                r"{SEPARATOR}\s*dir\s*$|(?:^|{SEPARATOR})\s*(?:net\s+(?:user|localgroup|view|share|use|group|accounts|session|start|stop)\b|reg(?:\.exe)?\s+(?:add|query|delete|save|export)\s|netsh\s+\w|dir(?:\s+[a-z]:\\|\s+/[a-z]\b)|(?:type|copy|del)\s+[a-z]:\\)|\bfor\s+(?:/[dflr]\s+)?[^\n]{{0,80}}?(?:%%|%%?[^\s%\d][^\s%]{{0,20}})\s+in\s*\(|\bif\s+(?:/i\s+)?(?:not\s+)?(?:(?:exist|defined)\s+\S+[^;&|]{{0,60}}?(?:\(\s*$|\s\(?(?:echo|goto|cmd|call|set|del|copy|start|type|dir|cd)\b)|errorlevel\s+\d|cmdextversion\b|(?:\S*%\S*|[\[(]\S*[\])]|\x22[^\x22]*\x22)\s*(?:==|\s(?:equ|neq|lss|leq|gtr|geq)\s)|\S+\s+(?:equ|neq|lss|leq|gtr|geq)\s+\S+|\w+\s*===?\s*\w+\s+\w)|%[a-z_]+:~-?\d+(?:,-?\d+)?%"
            ),
        ),
        cmd(
            "cmd-code-execution",
            "server-side code run through the input: PHP calls, SSI exec, Shellshock",
            r#"<\?php\b|\$_(?:get|post|request|cookie|server|files|env)\s*\[|\b(?:phpinfo|phpversion|shell_exec|passthru|proc_open|pcntl_exec)\s*\(|\b(?:system|exec|popen|eval|assert)\s*\(\s*['"$`]|\{\$\{|\$\{@?\w+\(|<!--\s*#\s*(?:exec|include|echo|config|printenv)\b|\(\s*\)\s*\{\s*:?\s*;?\s*\}\s*;"#,
        ),
        Rule::sql_tokenizer(),
        // NUL bytes.
        Rule::new(
            "null-byte",
            NullByte,
            "a NUL character (after decoding)",
            r"\x00",
        ),
    ]
}
