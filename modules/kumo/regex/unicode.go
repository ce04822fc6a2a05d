package regex

import (
	"fmt"
	"strings"
	"sync"
	"unicode"
)

// Unicode data for the Rust regex dialect, built from Go's unicode tables
// (Unicode 15.0 at Go 1.26; the Rust regex crate may be a version ahead).

func tables(ts ...*unicode.RangeTable) rset {
	var out rset
	for _, t := range ts {
		out = out.union(tableSet(t))
	}
	return out
}

var (
	// perlDigit is Rust's Unicode \d: General_Category=Decimal_Number.
	perlDigit = sync.OnceValue(func() rset { return tableSet(unicode.Nd) })
	// perlSpace is Rust's Unicode \s: the White_Space property.
	perlSpace = sync.OnceValue(func() rset { return tableSet(unicode.White_Space) })
	// alphabetic is the derived Alphabetic property.
	alphabetic = sync.OnceValue(func() rset {
		return tables(unicode.Lu, unicode.Ll, unicode.Lt, unicode.Lm, unicode.Lo, unicode.Nl, unicode.Other_Alphabetic)
	})
	// perlWord is Rust's Unicode \w (UTS#18 annex C): Alphabetic, Mark,
	// Decimal_Number, Connector_Punctuation and Join_Control. Word
	// boundaries (\b, \B, \<, \>) use the same set.
	perlWord = sync.OnceValue(func() rset {
		return alphabetic().union(tables(unicode.M, unicode.Nd, unicode.Pc, unicode.Join_Control))
	})
	asciiSet = rset{{0, 0x7F}}
)

// posixClasses are the ASCII classes of [[:name:]] (always ASCII in Rust).
var posixClasses = map[string]rset{
	"alnum":  {{'0', '9'}, {'A', 'Z'}, {'a', 'z'}},
	"alpha":  {{'A', 'Z'}, {'a', 'z'}},
	"ascii":  {{0, 0x7F}},
	"blank":  {{'\t', '\t'}, {' ', ' '}},
	"cntrl":  {{0, 0x1F}, {0x7F, 0x7F}},
	"digit":  {{'0', '9'}},
	"graph":  {{'!', '~'}},
	"lower":  {{'a', 'z'}},
	"print":  {{' ', '~'}},
	"punct":  {{'!', '/'}, {':', '@'}, {'[', '`'}, {'{', '~'}},
	"space":  {{'\t', '\r'}, {' ', ' '}},
	"upper":  {{'A', 'Z'}},
	"word":   {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}},
	"xdigit": {{'0', '9'}, {'A', 'F'}, {'a', 'f'}},
}

// normalizeName applies Unicode loose matching (UAX44-LM3) the way the
// Rust regex crate does: ASCII case-insensitive, spaces, '_' and '-'
// ignored, a leading "is" dropped, non-ASCII dropped.
func normalizeName(s string) string {
	startsIs := len(s) >= 2 && strings.EqualFold(s[:2], "is")
	if startsIs {
		s = s[2:]
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '_' || c == '-':
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case c < 0x80:
			b.WriteByte(c)
		}
	}
	out := b.String()
	if startsIs && out == "c" {
		return "isc" // ISO_Comment, not the C general category
	}
	return out
}

// categories indexes the General_Category values by normalized name:
// Go's tables (which, like Rust's, count unassigned code points in C and
// have Cn and LC) under their short names and Go's aliases, plus the
// pseudo values Any, Assigned and ASCII.
var categories = sync.OnceValue(func() map[string]func() rset {
	m := map[string]func() rset{
		"any":      func() rset { return universe },
		"assigned": func() rset { return tableSet(unicode.Cn).negate() },
		"ascii":    func() rset { return asciiSet },
	}
	for name, t := range unicode.Categories {
		m[normalizeName(name)] = func() rset { return tableSet(t) }
	}
	for alias, name := range unicode.CategoryAliases {
		t := unicode.Categories[name]
		m[normalizeName(alias)] = func() rset { return tableSet(t) }
	}
	return m
})

// scriptAliases maps ISO 15924 codes to the long script names Go uses.
var scriptAliases = map[string]string{
	"adlm": "Adlam", "aghb": "Caucasian_Albanian", "arab": "Arabic", "armi": "Imperial_Aramaic",
	"armn": "Armenian", "avst": "Avestan", "bali": "Balinese", "bamu": "Bamum", "bass": "Bassa_Vah",
	"batk": "Batak", "beng": "Bengali", "bhks": "Bhaiksuki", "bopo": "Bopomofo", "brah": "Brahmi",
	"brai": "Braille", "bugi": "Buginese", "buhd": "Buhid", "cakm": "Chakma", "cans": "Canadian_Aboriginal",
	"cari": "Carian", "cher": "Cherokee", "chrs": "Chorasmian", "copt": "Coptic", "qaac": "Coptic",
	"cpmn": "Cypro_Minoan", "cprt": "Cypriot", "cyrl": "Cyrillic", "deva": "Devanagari", "diak": "Dives_Akuru",
	"dogr": "Dogra", "dsrt": "Deseret", "dupl": "Duployan", "egyp": "Egyptian_Hieroglyphs", "elba": "Elbasan",
	"elym": "Elymaic", "ethi": "Ethiopic", "geor": "Georgian", "glag": "Glagolitic", "gong": "Gunjala_Gondi",
	"gonm": "Masaram_Gondi", "goth": "Gothic", "gran": "Grantha", "grek": "Greek", "gujr": "Gujarati",
	"guru": "Gurmukhi", "hang": "Hangul", "hani": "Han", "hano": "Hanunoo", "hatr": "Hatran", "hebr": "Hebrew",
	"hira": "Hiragana", "hluw": "Anatolian_Hieroglyphs", "hmng": "Pahawh_Hmong", "hmnp": "Nyiakeng_Puachue_Hmong",
	"hung": "Old_Hungarian", "ital": "Old_Italic", "java": "Javanese", "kali": "Kayah_Li", "kana": "Katakana",
	"khar": "Kharoshthi", "khmr": "Khmer", "khoj": "Khojki", "kits": "Khitan_Small_Script", "knda": "Kannada",
	"kthi": "Kaithi", "lana": "Tai_Tham", "laoo": "Lao", "latn": "Latin", "lepc": "Lepcha", "limb": "Limbu",
	"lina": "Linear_A", "linb": "Linear_B", "lyci": "Lycian", "lydi": "Lydian", "mahj": "Mahajani",
	"maka": "Makasar", "mand": "Mandaic", "mani": "Manichaean", "marc": "Marchen", "medf": "Medefaidrin",
	"mend": "Mende_Kikakui", "merc": "Meroitic_Cursive", "mero": "Meroitic_Hieroglyphs", "mlym": "Malayalam",
	"mong": "Mongolian", "mroo": "Mro", "mtei": "Meetei_Mayek", "mult": "Multani", "mymr": "Myanmar",
	"nagm": "Nag_Mundari", "nand": "Nandinagari", "narb": "Old_North_Arabian", "nbat": "Nabataean",
	"nkoo": "Nko", "nshu": "Nushu", "ogam": "Ogham", "olck": "Ol_Chiki", "orkh": "Old_Turkic", "orya": "Oriya",
	"osge": "Osage", "osma": "Osmanya", "ougr": "Old_Uyghur", "palm": "Palmyrene", "pauc": "Pau_Cin_Hau",
	"perm": "Old_Permic", "phag": "Phags_Pa", "phli": "Inscriptional_Pahlavi", "phlp": "Psalter_Pahlavi",
	"phnx": "Phoenician", "plrd": "Miao", "prti": "Inscriptional_Parthian", "rjng": "Rejang",
	"rohg": "Hanifi_Rohingya", "runr": "Runic", "samr": "Samaritan", "sarb": "Old_South_Arabian",
	"saur": "Saurashtra", "sgnw": "SignWriting", "shaw": "Shavian", "shrd": "Sharada", "sidd": "Siddham",
	"sind": "Khudawadi", "sinh": "Sinhala", "sogd": "Sogdian", "sogo": "Old_Sogdian", "sora": "Sora_Sompeng",
	"soyo": "Soyombo", "sund": "Sundanese", "sylo": "Syloti_Nagri", "syrc": "Syriac", "tagb": "Tagbanwa",
	"takr": "Takri", "tale": "Tai_Le", "talu": "New_Tai_Lue", "taml": "Tamil", "tang": "Tangut",
	"tavt": "Tai_Viet", "telu": "Telugu", "tfng": "Tifinagh", "tglg": "Tagalog", "thaa": "Thaana",
	"tibt": "Tibetan", "tirh": "Tirhuta", "tnsa": "Tangsa", "ugar": "Ugaritic", "vaii": "Vai",
	"vith": "Vithkuqi", "wara": "Warang_Citi", "wcho": "Wancho", "xpeo": "Old_Persian", "xsux": "Cuneiform",
	"yezi": "Yezidi", "yiii": "Yi", "zanb": "Zanabazar_Square", "zinh": "Inherited", "qaai": "Inherited",
	"zyyy": "Common",
}

// scriptByName indexes Go's script tables by normalized long name.
var scriptByName = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for name := range unicode.Scripts {
		m[normalizeName(name)] = name
	}
	return m
})

// scriptSet resolves a normalized script name or code.
func scriptSet(norm string) (rset, bool) {
	name, ok := scriptByName()[norm]
	if !ok {
		name = scriptAliases[norm]
	}
	t, ok := unicode.Scripts[name]
	if !ok {
		return nil, false
	}
	return tableSet(t), true
}

// boolProps maps normalized binary property names and aliases to a
// constructor of their set.
var boolProps = func() map[string]func() rset {
	m := map[string]func() rset{}
	add := func(fn func() rset, names ...string) {
		for _, n := range names {
			m[normalizeName(n)] = fn
		}
	}
	table := func(t *unicode.RangeTable) func() rset { return func() rset { return tableSet(t) } }
	for name, t := range unicode.Properties {
		add(table(t), name)
	}
	add(table(unicode.ASCII_Hex_Digit), "AHex")
	add(table(unicode.Bidi_Control), "Bidi_C")
	add(table(unicode.Deprecated), "Dep")
	add(table(unicode.Diacritic), "Dia")
	add(table(unicode.Extender), "Ext")
	add(table(unicode.Hex_Digit), "Hex")
	add(table(unicode.Ideographic), "Ideo")
	add(table(unicode.IDS_Binary_Operator), "IDSB")
	add(table(unicode.IDS_Trinary_Operator), "IDST")
	add(table(unicode.Join_Control), "Join_C")
	add(table(unicode.Logical_Order_Exception), "LOE")
	add(table(unicode.Noncharacter_Code_Point), "NChar")
	add(table(unicode.Other_Alphabetic), "OAlpha")
	add(table(unicode.Other_Default_Ignorable_Code_Point), "ODI")
	add(table(unicode.Other_Grapheme_Extend), "OGr_Ext")
	add(table(unicode.Other_ID_Continue), "OIDC")
	add(table(unicode.Other_ID_Start), "OIDS")
	add(table(unicode.Other_Lowercase), "OLower")
	add(table(unicode.Other_Math), "OMath")
	add(table(unicode.Other_Uppercase), "OUpper")
	add(table(unicode.Pattern_Syntax), "Pat_Syn")
	add(table(unicode.Pattern_White_Space), "Pat_WS")
	add(table(unicode.Prepended_Concatenation_Mark), "PCM")
	add(table(unicode.Quotation_Mark), "QMark")
	add(table(unicode.Regional_Indicator), "RI")
	add(table(unicode.Soft_Dotted), "SD")
	add(table(unicode.Sentence_Terminal), "STerm")
	add(table(unicode.Terminal_Punctuation), "Term")
	add(table(unicode.Unified_Ideograph), "UIdeo")
	add(table(unicode.Variation_Selector), "VS")
	add(table(unicode.White_Space), "WSpace", "space")
	add(alphabetic, "Alphabetic", "Alpha")
	lower := func() rset { return tables(unicode.Ll, unicode.Other_Lowercase) }
	upper := func() rset { return tables(unicode.Lu, unicode.Other_Uppercase) }
	add(lower, "Lowercase", "Lower")
	add(upper, "Uppercase", "Upper")
	add(func() rset { return lower().union(upper()).union(tableSet(unicode.Lt)) }, "Cased")
	add(func() rset { return tables(unicode.Sm, unicode.Other_Math) }, "Math")
	add(func() rset { return tables(unicode.Me, unicode.Mn, unicode.Other_Grapheme_Extend) }, "Grapheme_Extend", "Gr_Ext")
	idStart := func() rset {
		return tables(unicode.L, unicode.Nl, unicode.Other_ID_Start).
			minus(tables(unicode.Pattern_Syntax, unicode.Pattern_White_Space))
	}
	add(idStart, "ID_Start", "IDS")
	add(func() rset {
		return idStart().union(tables(unicode.Mn, unicode.Mc, unicode.Nd, unicode.Pc, unicode.Other_ID_Continue)).
			minus(tables(unicode.Pattern_Syntax, unicode.Pattern_White_Space))
	}, "ID_Continue", "IDC")
	return m
}()

// unicodeClass resolves the body of \pX or \p{...} to a set: a binary
// property, a General_Category value or a script (in that order, as in
// Rust), or name=value / name!=value for gc, sc and scx.
func unicodeClass(body string) (rset, error) {
	if i := strings.IndexAny(body, "=:"); i >= 0 {
		name, value := body[:i], normalizeName(body[i+1:])
		negate := strings.HasSuffix(name, "!")
		var set rset
		switch normalizeName(strings.TrimSuffix(name, "!")) {
		case "generalcategory", "gc":
			fn, ok := categories()[value]
			if !ok {
				return nil, fmt.Errorf("Unicode property value not found")
			}
			set = fn()
		case "script", "sc", "scriptextensions", "scx":
			s, ok := scriptSet(value)
			if !ok {
				return nil, fmt.Errorf("Unicode property value not found")
			}
			set = s
		default:
			return nil, fmt.Errorf("Unicode property not found")
		}
		if negate {
			set = set.negate()
		}
		return set, nil
	}
	norm := normalizeName(body)
	if fn, ok := boolProps[norm]; ok {
		return fn(), nil
	}
	if fn, ok := categories()[norm]; ok {
		return fn(), nil
	}
	if s, ok := scriptSet(norm); ok {
		return s, nil
	}
	return nil, fmt.Errorf("Unicode property not found")
}
