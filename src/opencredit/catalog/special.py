"""Names that opencredit refuses: special-category data and person attributes.

Special-category data (principle 5; GDPR Art. 9: health, reproductive health and
contraception, sex life and orientation, ethnic origin, religion, political opinion, union
membership, genetic and biometric data) is never recorded or scored; person attributes
(principle 4: age, sex, region...) exist for the regulator's fairness audit only and never
enter a score. See docs/policies.md ("Refused names").

Names (record kinds, purchase categories, purposes, policy and factor ids, band names, TOML
keys) are read as words (:mod:`opencredit.catalog.names`: ``ageGroup``, ``age-group`` and
``agegroup`` are all ``age group``), and the words are looked up in the vetted vocabulary
below, by meaning rather than by substring:

- a word or phrase of the vocabulary refuses the name (``age_band``, ``birthyear``,
  ``isFemale``, ``party_member``, ``birth control``);
- an *ambiguous* word or phrase, one with an innocent sense as well (``adult education``,
  ``birthday``, ``credit union``, ``senior``), is accepted with a doubt that lint reports as a
  warning;
- a few short terms also occur inside ordinary words (``age`` in ``passage``, ``sex`` in
  ``sextant`` or ``Essex``): such a word, read whole, is accepted with a doubt too.

It is a guard against honest mistakes and workarounds, not a classifier: the vetted catalogues
(kinds, purchase categories, purposes) are the positive control, since only listed names are
accepted there at all.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from opencredit.catalog.names import normalise, words_of
from opencredit.errors import RefusedData

# Vocabulary entries: ``word`` matches the word (and its plural), ``stem*`` every word starting
# with the stem, ``two words`` the words in a row (also glued: ``birthcontrol``).

#: Special category -> the words that reveal it.
SPECIAL_CATEGORIES: dict[str, tuple[str, ...]] = {
    "health": (
        "health*",
        "medic*",
        "pharma*",
        "drug*",
        "prescription*",
        "hospital",
        "hospitalisation",
        "hospitalization",
        "hospitalised",
        "hospitalized",
        "clinic*",
        "diagnos*",
        "disease*",
        "illness*",
        "sick*",
        "disab*",
        "handicap*",
        "mental",
        "mentally",
        "therap*",
        "psychiatr*",
        "psycholog*",
        "vaccin*",
        "hiv",
        "cancer*",
        "diabet*",
        "surgery",
        "surgical",
        "dental",
        "dentist*",
        "addict*",
        "rehab*",
        "obesity",
        "obese",
        "bmi",
        "insulin",
        "wheelchair*",
        "deaf",
        "blood type",
        "blood group",
        "chemotherapy",
        "patient record",
        "jian kang",
        "ji bing",
        "hepatitis",
        "psych",
        "psychs",
        "tubercul*",
        "alcoholism",
        "anxiety",
        "autis*",
        "adhd",
        "schizophren*",
        "bipolar",
        "dementia",
        "alzheimer*",
        "parkinson*",
        "epilep*",
        "asthma*",
        "dyslexi*",
        "amputee*",
        "paralys*",
        "paralyz*",
        "overdos*",
        "opioid*",
        "methadone",
        "suicid*",
        "self harm",
        "std test",
        "sti test",
        "sexually transmitted",
        "eating disorder",
        "anorexi*",
        "bulimi*",
        "geriatric*",
        "down syndrome",
        "抑郁",
        "残疾",
        "艾滋",
        "残障",
        "乙肝",
        "肝炎",
        "病史",
        "精神病",
        "健康",
        "疾病",
        "病历",
    ),
    "reproductive health and contraception": (
        "contracept*",
        "pregnan*",
        "fertility",
        "breastfe*",
        "lactat*",
        "menopaus*",
        "morning after pill",
        "vasectom*",
        "tubal ligation",
        "intrauterine device",
        "coil fitting",
        "trimester*",
        "doula*",
        "gestation*",
        "embryo*",
        "sperm*",
        "egg freezing",
        "second child",
        "third child",
        "one child",
        "two child",
        "chaosheng",
        "chao sheng",
        "孕",
        "超生",
        "生育",
        "结扎",
        "上环",
        "流产",
        "人流",
        "二胎",
        "三胎",
        "infertil*",
        "abortion*",
        "ivf",
        "condom",
        "condoms",
        "birth control",
        "family planning",
        "menstrua*",
        "period tracker",
        "period tracking",
        "ovulat*",
        "prenatal",
        "antenatal",
        "postnatal",
        "maternity",
        "miscarriage*",
        "childbirth",
        "tampon*",
        "midwife",
        "midwives",
        "obstetric*",
        "gynaec*",
        "gynec*",
        "surrogacy",
        "childless",
        "child free",
        "jihua shengyu",
        "ji hua sheng yu",
        "huai yun",
        "bi yun",
        "ren liu",
        "liu chan",
        "怀孕",
        "避孕",
        "计划生育",
    ),
    "sex life and sexual orientation": (
        "sex",
        "sexes",
        "sexual*",
        "asexual*",
        "pansexual*",
        "transsexual*",
        "transvestite*",
        "crossdress*",
        "cross dressing",
        "cross dresser",
        "hookup*",
        "swinger*",
        "strip club",
        "stripclub*",
        "同性恋",
        "性工作",
        "卖淫",
        "色情",
        "sexy",
        "lgbt*",
        "gay",
        "lesbian*",
        "homosexual*",
        "bisexual*",
        "heterosexual*",
        "transgender*",
        "intersex",
        "queer",
        "orientation",
        "porn*",
        "erotic*",
        "fetish*",
        "brothel*",
        "prostitut*",
        "adult goods",
        "adult content",
        "adult entertainment",
        "adult toys",
        "adult toy",
        "adult video",
        "adult videos",
        "adult movies",
        "adult films",
        "adult shop",
        "adult store",
        "adult site",
        "adult sites",
        "adult products",
        "adult material",
        "性生活",
        "性取向",
    ),
    "racial or ethnic origin": (
        "ethnic*",
        "hmong",
        "miao",
        "tujia",
        "hani",
        "lisu",
        "buyei",
        "bouyei",
        "dongxiang",
        "naxi",
        "kyrgyz*",
        "tajik*",
        "uzbek*",
        "tatar*",
        "evenki",
        "oroqen",
        "chaoxianzu",
        "aboriginal*",
        "gypsy",
        "gypsies",
        "arab",
        "arabs",
        "african american",
        "african americans",
        "汉族",
        "回族",
        "藏族",
        "维吾尔",
        "壮族",
        "苗族",
        "彝族",
        "满族",
        "朝鲜族",
        "蒙古族",
        "哈萨克",
        "han",
        "hanzu",
        "hui",
        "huizu",
        "zhuang",
        "manchu",
        "kazakh*",
        "mongol*",
        "race",
        "races",
        "racial*",
        "min zu",
        "skin colour",
        "skin color",
        "skin tone",
        "mother tongue",
        "caste",
        "castes",
        "tribe",
        "tribal",
        "indigenous",
        "ancestry",
        "uyghur*",
        "uighur*",
        "tibetan*",
        "hispanic*",
        "latino*",
        "latina*",
        "caucasian*",
        "民族",
        "种族",
    ),
    "religious or philosophical belief": (
        "relig*",
        "creed",
        "creeds",
        "congregation*",
        "parish*",
        "diocese*",
        "pilgrim*",
        "hajj",
        "missionar*",
        "baptis*",
        "baptiz*",
        "monks",
        "monaster*",
        "nuns",
        "convent",
        "convents",
        "priest*",
        "imam",
        "imams",
        "rabbi*",
        "pastor",
        "pastors",
        "lama",
        "lamas",
        "dalai",
        "taois*",
        "daois*",
        "confucian*",
        "shinto*",
        "jain",
        "jains",
        "jainism",
        "zoroastr*",
        "mormon*",
        "evangelical*",
        "pentecostal*",
        "sectarian*",
        "scripture*",
        "sermon*",
        "sunday school",
        "seminary",
        "seminaries",
        "believer*",
        "deity",
        "deities",
        "theolog*",
        "moslem*",
        "agnostic*",
        "apostas*",
        "apostate*",
        "blasphem*",
        "heresy",
        "heretic*",
        "quaker*",
        "amish",
        "佛教",
        "基督",
        "伊斯兰",
        "清真",
        "教会",
        "信教",
        "礼拜",
        "教堂",
        "寺庙",
        "道教",
        "法轮",
        "church*",
        "mosque*",
        "temple",
        "synagogue*",
        "prayer*",
        "pray",
        "faith",
        "worship*",
        "bible*",
        "quran*",
        "koran*",
        "buddhis*",
        "buddha",
        "islam*",
        "muslim*",
        "christian*",
        "catholic*",
        "protestant*",
        "jewish",
        "judaism",
        "jew",
        "hindu*",
        "sikh*",
        "atheis*",
        "tithe*",
        "halal",
        "kosher",
        "zakat",
        "hijab*",
        "headscarf",
        "headscarves",
        "burqa*",
        "niqab*",
        "ramadan",
        "falun*",
        "clergy",
        "zong jiao",
        "宗教",
        "信仰",
    ),
    "political opinion": (
        "politic*",
        "cpc",
        "voted",
        "kmt",
        "xinfang",
        "xin fang",
        "shangfang",
        "shang fang",
        "dissent*",
        "leftist*",
        "rightist*",
        "socialis*",
        "marxis*",
        "maois*",
        "fascis*",
        "nazi*",
        "anarchis*",
        "separatis*",
        "共产党",
        "党费",
        "入党",
        "上访",
        "信访",
        "抗议",
        "游行",
        "选举",
        "party",
        "protest*",
        "election*",
        "vote",
        "voting",
        "voter*",
        "petition*",
        "activis*",
        "dissident*",
        "ideolog*",
        "partisan*",
        "democra*",
        "communis*",
        "ccp",
        "party member",
        "party membership",
        "dang yuan",
        "zheng zhi",
        "政治",
        "党员",
    ),
    "trade union membership": (
        "union",
        "unionist*",
        "unionis*",
        "tradeunion*",
        "gong hui",
        "picket*",
        "on strike",
        "strike action",
        "strike actions",
        "labour strike",
        "labor strike",
        "general strike",
        "strike participation",
        "strike days",
        "strike pay",
        "strikers",
        "walkout*",
        "collective bargaining",
        "工会",
        "罢工",
    ),
    "genetic and biometric data": (
        "genetic*",
        "handprint*",
        "chromosom*",
        "vein scan",
        "palm vein",
        "hand geometry",
        "eye scan",
        "eye scans",
        "genom*",
        "gene",
        "dna",
        "biometric*",
        "fingerprint*",
        "face scan",
        "face scans",
        "face recognition",
        "face image",
        "face images",
        "face data",
        "face print",
        "facial*",
        "face id",
        "iris",
        "retina*",
        "voiceprint*",
        "palmprint*",
        "gait",
        "基因",
        "指纹",
        "人脸",
    ),
}

#: Person attribute -> the words that name it (principle 4).
PERSON_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "age": (
        "age",
        "sexagenarian*",
        "septuagenarian*",
        "octogenarian*",
        "nonagenarian*",
        "centenarian*",
        "80后",
        "属相",
        "生肖",
        "星座",
        "老年",
        "青年",
        "未成年",
        "90后",
        "00后",
        "95后",
        "70后",
        "aged",
        "ageing",
        "aging",
        "birth",
        "born",
        "birthdate",
        "birthyear",
        "birthmonth",
        "dob",
        "yob",
        "elderly",
        "young",
        "younger",
        "youngest",
        "youngster*",
        "youth*",
        "teen",
        "teens",
        "teenager*",
        "teenage",
        "adolescen*",
        "juvenile*",
        "underage",
        "millennial*",
        "boomer*",
        "genz",
        "genx",
        "gen z",
        "gen x",
        "gen y",
        "years old",
        "yrs old",
        "yr old",
        "age of account holder",
        "age of the account holder",
        "account holder age",
        "age of holder",
        "seniors",
        "senior citizen",
        "senior citizens",
        "minors",
        "pensioner*",
        "retiree*",
        "zodiac*",
        "horoscope*",
        "star sign",
        "shengxiao",
        "nian ling",
        "chu sheng",
        "年龄",
        "出生",
    ),
    "sex": (
        "sex",
        "sexes",
        "gender*",
        "pronoun*",
        "housewife",
        "housewives",
        "maiden name",
        "male",
        "males",
        "female*",
        "men",
        "woman",
        "women",
        "womens",
        "boy",
        "boys",
        "girl",
        "girls",
        "lady",
        "ladies",
        "gentleman",
        "gentlemen",
        "mrs",
        "masculin*",
        "feminin*",
        "non binary",
        "xing bie",
        "性别",
        "男性",
        "女性",
        "妇女",
        "女士",
        "男士",
    ),
    "region": (
        "region*",
        "latlong",
        "latlon",
        "lat long",
        "lat lon",
        "province*",
        "provincial",
        "prefecture*",
        "county",
        "counties",
        "district*",
        "city",
        "cities",
        "rural",
        "urban",
        "hukou",
        "hu kou",
        "hu ji",
        "ji guan",
        "di qu",
        "domicile*",
        "residence*",
        "residency",
        "address*",
        "postcode*",
        "postal",
        "zipcode*",
        "location*",
        "geolocation*",
        "geo",
        "gps",
        "latitude*",
        "longitude*",
        "neighbourhood*",
        "neighborhood*",
        "hometown*",
        "birthplace*",
        "migrant*",
        "immigra*",
        "emigra*",
        "nonlocal",
        "non local",
        "waidi",
        "waidiren",
        "bendi",
        "household registration",
        "native place",
        "place of origin",
        "xinjiang",
        "tibet",
        "xizang",
        "户口",
        "户籍",
        "籍贯",
        "地区",
        "省份",
        "地域",
        "外地",
        "本地人",
    ),
    "nationality": (
        "nationality",
        "nationalities",
        "citizenship*",
        "foreigner*",
        "foreign national",
        "foreign nationals",
        "expat*",
        "passport*",
        "country of origin",
        "nationals",
        "refugee*",
        "asylum",
        "国籍",
    ),
    "marital status": (
        "marital",
        "cohabit*",
        "spinster*",
        "剩女",
        "married",
        "marriage*",
        "unmarried",
        "spouse*",
        "husband",
        "husbands",
        "wife",
        "wives",
        "divorc*",
        "widow*",
        "fiance*",
        "hun yin",
        "婚姻",
    ),
    "resident ID number (it encodes birth date, sex and region)": (
        "resident id",
        "id number",
        "idnumber",
        "id prefix",
        "id digits",
        "sheng fen zheng",
        "id card",
        "identity card",
        "identity number",
        "shen fen zheng",
        "身份证",
    ),
}

#: Provincial-level divisions of China: a name with one is ambiguous (where a scheme runs, or
#: where a person lives).
PLACES: tuple[str, ...] = (
    "beijing",
    "tianjin",
    "hebei",
    "shanxi",
    "inner mongolia",
    "neimenggu",
    "liaoning",
    "jilin",
    "heilongjiang",
    "shanghai",
    "jiangsu",
    "zhejiang",
    "anhui",
    "fujian",
    "jiangxi",
    "shandong",
    "henan",
    "hubei",
    "hunan",
    "guangdong",
    "guangxi",
    "hainan",
    "chongqing",
    "sichuan",
    "guizhou",
    "yunnan",
    "shaanxi",
    "gansu",
    "qinghai",
    "ningxia",
    "hong kong",
    "macau",
    "macao",
    "taiwan",
)

#: Ambiguous words and phrases: they can name a refused thing, but have an innocent sense too.
#: A name with one is accepted; lint warns with this text.
AMBIGUOUS: dict[str, str] = {
    "pill": "'pill' can mean the contraceptive pill (reproductive health)",
    "pills": "'pills' can mean contraceptive pills or medicines (health)",
    "xinyang": "'xinyang' is a city (信阳), or religious belief (信仰) in pinyin",
    "trans": "'trans' can mean a transaction or a transgender person (sex life)",
    "depression": "'depression' can mean an economic depression or the illness (health)",
    "depressed": "'depressed' can mean depressed prices or the illness (health)",
    "covid": "'covid' can mean relief during the pandemic or the disease (health)",
    "nursing": "'nursing' can mean a nursing course or breastfeeding (reproductive health)",
    "newborn": "'newborn' can mean baby goods or a birth (reproductive health)",
    "paternity": "'paternity' can mean leave from work or a person's family status",
    "escort": "'escort' can mean an escort service (sex life)",
    "escorts": "'escorts' can mean escort services (sex life)",
    "strike": "'strike' can mean a strike at work (trade union membership) or a warning",
    "strikes": "'strikes' can mean strikes at work (trade union membership) or warnings",
    "god": "'god' can mean religious belief",
    "gods": "'gods' can mean religious belief",
    "sect": "'sect' can mean a religious sect, or a section",
    "monk": "'monk' can mean a religious monk (monk fruit is a food)",
    "striking": "'striking' can mean a strike (trade union membership)",
    "striker": "'striker' can mean someone on strike (trade union membership)",
    "mecca": "'mecca' can mean a religious pilgrimage (religion)",
    "cult": "'cult' can mean a religious cult (religion)",
    "spiritual": "'spiritual' can mean religious belief",
    "demonstration": "'demonstration' can mean a political demonstration",
    "rally": "'rally' can mean a political rally",
    "asian": "'asian' can mean Asian markets or a person's ethnic origin",
    "korean": "'korean' can mean ethnic origin or nationality",
    "blind": "'blind' can mean a disability (health)",
    "bachelor": "'bachelor' can mean a degree or marital status",
    "adult": "'adult' can mean a person's age or adult (sexual) content",
    "adults": "'adults' can mean a person's age or adult (sexual) content",
    "adult education": "'adult education' is a kind of course, but it names the learners' age",
    "birthday": "a birthday gift is not the person's birth date, but 'birthday' can mean it",
    "bday": "'bday' can mean the person's birthday, that is their birth date",
    "old": "'old' can mean old records or an old person",
    "older": "'older' can mean older records or an older person",
    "senior": "'senior' can mean a senior position or an elderly person",
    "junior": "'junior' can mean a junior position or a young person",
    "minor": "'minor' can mean a minor offence or a child (age)",
    "child": "'child' can mean children's goods or a person's family status",
    "children": "'children' can mean children's goods or a person's family status",
    "kid": "'kid' can mean children's goods or a person's family status",
    "kids": "'kids' can mean children's goods or a person's family status",
    "generation": "'generation' can mean an age group",
    "man": "'man' can mean a person's sex",
    "mother": "'mother' can mean a person's sex and family status",
    "mothers": "'mothers' can mean people's sex and family status",
    "father": "'father' can mean a person's sex and family status",
    "fathers": "'fathers' can mean people's sex and family status",
    "single": "'single' can mean marital status",
    "resident": "'resident' can mean where a person lives (region)",
    "residents": "'residents' can mean where people live (region)",
    "native": "'native' can mean a person's origin or region",
    "origin": "'origin' can mean a person's ethnic or national origin",
    "citizen": "'citizen' can mean a person's nationality",
    "citizens": "'citizens' can mean people's nationality",
    "foreign": "'foreign' can mean a person's nationality",
    "national": "'national' can mean a person's nationality",
    "country": "'country' can mean a person's nationality or origin",
    "town": "'town' can mean where a person lives (region)",
    "village": "'village' can mean where a person lives (region)",
    "zip": "'zip' can mean a postcode (region)",
    "credit union": "a credit union is a bank, not trade union membership",
    "face": "'face' can mean a face scan (biometric data)",
    "faces": "'faces' can mean face scans (biometric data)",
    "good faith": "'good faith' is honesty, not religious faith",
    "european union": "the European Union is not trade union membership",
    "unionpay": "UnionPay is a card network, not trade union membership",
    "aids": "'aids' can mean the disease (health)",
    "patient": "'patient' can mean a medical patient (health)",
    "patients": "'patients' can mean medical patients (health)",
    "maternal": "'maternal' can mean pregnancy (reproductive health)",
    "minority": "'minority' can mean an ethnic minority",
    "locals": "'locals' can mean people by where they live (region)",
    "account age": "the age of accounts is not the person's age",
    "accounts age": "the age of accounts is not the person's age",
    "age of accounts": "the age of accounts is not the person's age",
    "age of account": "the age of an account is not the person's age",
    "age of credit": "the age of credit is not the person's age",
    "credit age": "the age of credit is not the person's age",
    "debt age": "the age of a debt is not the person's age",
    "loan age": "the age of a loan is not the person's age",
    "record age": "the age of a record is not the person's age",
    "vehicle age": "the age of a vehicle is not the person's age",
    "car age": "the age of a car is not the person's age",
    **{
        place: f"'{place}' names a place: a policy may be named after where it runs, but no "
        "factor or band may depend on where a person lives (region)"
        for place in PLACES
    },
}

#: Short terms that also occur inside ordinary words (``age`` in ``usage``, ``sex`` in
#: ``Essex``): such a word, which the segmenter reads whole, is accepted with a doubt.
HIDDEN_TERMS: tuple[str, ...] = ("age", "sex", "birth", "adult", "gender", "dob")

Kind = Literal["special", "attribute"]

#: How much of a name is read (a policy's names have at most 64 characters; longer ones are
#: refused for their length).
MAX_NAME = 1000


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused word in a name: what it reveals (``kind`` special category or person
    attribute, ``concept`` which one) and the word or phrase that does."""

    kind: Kind
    concept: str
    word: str


@dataclass(frozen=True, slots=True)
class Reading:
    """A name read against the vocabulary: its words, what refuses it, what leaves a doubt."""

    name: str
    words: tuple[str, ...]
    refusals: tuple[Refusal, ...]
    doubts: tuple[str, ...]


def _index() -> tuple[dict, list, dict]:
    exact: dict[str, list[tuple[Kind, str]]] = {}
    stems: list[tuple[str, Kind, str]] = []
    phrases: dict[tuple[str, ...], list[tuple[Kind, str]]] = {}
    vocabularies: list[tuple[Kind, dict[str, tuple[str, ...]]]] = [
        ("attribute", PERSON_ATTRIBUTES),
        ("special", SPECIAL_CATEGORIES),
    ]
    for kind, vocabulary in vocabularies:
        for concept, terms in vocabulary.items():
            for term in terms:
                if " " in term:
                    phrases.setdefault(tuple(term.split()), []).append((kind, concept))
                    exact.setdefault(term.replace(" ", ""), []).append((kind, concept))
                elif term.endswith("*"):
                    stems.append((term[:-1], kind, concept))
                else:
                    exact.setdefault(term, []).append((kind, concept))
    return exact, stems, phrases


_EXACT, _STEMS, _PHRASES = _index()
_AMBIGUOUS_PHRASES = {tuple(p.split()): why for p, why in AMBIGUOUS.items()}
_AMBIGUOUS_GLUED = {p.replace(" ", ""): why for p, why in AMBIGUOUS.items()}
_LONGEST = max(len(p) for p in [*_PHRASES, *_AMBIGUOUS_PHRASES])
_NON_ASCII_TERMS = [
    (term, kind, concept)
    for kind, vocabulary in (("attribute", PERSON_ATTRIBUTES), ("special", SPECIAL_CATEGORIES))
    for concept, terms in vocabulary.items()
    for term in terms
    if not term.isascii()
]
_SEARCHED = sorted(
    {
        *(t for t in _EXACT if len(t) >= 3),
        *(s for s, _, _ in _STEMS),
        *(w for p in [*_PHRASES, *_AMBIGUOUS_PHRASES] for w in p if len(w) >= 3),
        *(a for a in _AMBIGUOUS_GLUED if len(a) >= 3),
        *HIDDEN_TERMS,
    }
)


def search_terms() -> tuple[str, ...]:
    """Every lower-case ASCII string that a refused or doubtful name must contain somewhere (a
    vocabulary word, stem or phrase word, or a term hidden inside other words): a cheap,
    vectorisable prefilter before :func:`read_name` (a name holding none of them is read as
    innocent)."""
    return tuple(_SEARCHED)


def _forms(word: str) -> list[str]:
    """The word and what it may be the plural of (``ages``: ``age``; ``cities``: ``city``)."""
    forms = [word]
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        forms.append(word[:-2])
    if word.endswith("s") and len(word) > 2:
        forms.append(word[:-1])
    return forms


def _meanings(word: str) -> list[tuple[Kind, str]]:
    """What a single word refuses: an exact vocabulary word (or its plural) or a stem."""
    for form in _forms(word):
        if form in _EXACT:
            return _EXACT[form]
    return [(kind, concept) for stem, kind, concept in _STEMS if word.startswith(stem)]


def _is_term(piece: str) -> bool:
    return bool(_meanings(piece))


def _keep_whole(piece: str) -> bool:
    return _is_term(piece) or piece in _AMBIGUOUS_GLUED


def _worth_reading(piece: str) -> bool:
    """True if ``piece`` may hold a vocabulary word, so that it is worth segmenting."""
    return any(term in piece for term in _SEARCHED)


@functools.lru_cache(maxsize=65536)
def read_name(name: str) -> Reading:
    """Read ``name`` as words and look them up in the vocabulary. Only the first
    :data:`MAX_NAME` characters are read: no name in the catalogues or a policy is longer."""
    words = tuple(words_of(name[:MAX_NAME], _worth_reading, _is_term, _keep_whole))
    refusals: list[Refusal] = []
    doubts: list[str] = []
    i = 0
    while i < len(words):
        # Words the segmenter cut apart that glue into a vocabulary word: "faces can" in
        # "latefacescan" is "facescan".
        length, meanings = _glued_run(words, i)
        if meanings:
            glued = "".join(words[i : i + length])
            refusals += [Refusal(kind, concept, glued) for kind, concept in meanings]
            i += length
            continue
        for length in range(min(_LONGEST, len(words) - i), 0, -1):
            run = words[i : i + length]
            said = " ".join(run)
            # An ambiguous phrase, also split where its usual spelling is one word
            # (``UnionPay`` is read as ``union pay``).
            glued = "".join(run)
            if run in _AMBIGUOUS_PHRASES or glued in _AMBIGUOUS_GLUED:
                why = _AMBIGUOUS_PHRASES.get(run) or _AMBIGUOUS_GLUED[glued]
                doubts.append(why)
                break
            meanings = _PHRASES.get(run) if length > 1 else _meanings(said)
            if meanings:
                refusals += [Refusal(kind, concept, said) for kind, concept in meanings]
                break
        else:
            length = 1
            hidden = [t for t in HIDDEN_TERMS if t in words[i]]
            if hidden:
                doubts.append(
                    f"{words[i]!r} contains {hidden[0]!r} but reads as the word "
                    f"{words[i]!r}; make sure it does not name {_concept_of(hidden[0])}"
                )
        i += length
    text = normalise(name[:MAX_NAME])
    for term, kind, concept in _NON_ASCII_TERMS:
        if term in text:
            refusals.append(Refusal(kind, concept, term))
    return Reading(name, words, tuple(dict.fromkeys(refusals)), tuple(dict.fromkeys(doubts)))


def _glued_run(words: tuple[str, ...], i: int) -> tuple[int, list[tuple[Kind, str]]]:
    """The longest run of 2-4 words from ``i`` that glues into a refused word of at least four
    letters, as (length, meanings); (1, []) if none does."""
    for length in range(min(4, len(words) - i), 1, -1):
        glued = "".join(words[i : i + length])
        if len(glued) >= 4 and glued.isalpha() and (meanings := _meanings(glued)):
            return length, meanings
    return 1, []


def _concept_of(term: str) -> str:
    meanings = _meanings(term)
    if meanings:
        kind, concept = meanings[0]
        return f"the person attribute {concept}" if kind == "attribute" else concept
    return AMBIGUOUS.get(term, term).split(" can mean ")[-1]


def special_category_of(name: str) -> str | None:
    """The special category a name reveals, or None if it reveals none."""
    return next((r.concept for r in read_name(name).refusals if r.kind == "special"), None)


def person_attribute_in(name: str) -> str | None:
    """The person attribute a name refers to (``age``, ``sex``, ``region``...), or None."""
    return next((r.concept for r in read_name(name).refusals if r.kind == "attribute"), None)


def _through(name: str, word: str) -> str:
    return "" if word == name.lower() else f" (through {word!r})"


def attribute_message(name: str, what: str) -> str | None:
    """Why ``name`` (a ``what``) may not name a person attribute, or None if it names none."""
    found = [r for r in read_name(name).refusals if r.kind == "attribute"]
    if not found:
        return None
    concepts = list(dict.fromkeys(r.concept for r in found))
    which = (
        f"the person attribute {concepts[0]!r}"
        if len(concepts) == 1
        else f"the person attributes {', '.join(map(repr, concepts))}"
    )
    return (
        f"{what} {name!r} refers to {which}"
        f"{_through(name, found[0].word)}: opencredit records and scores conduct only, never a "
        "person's age, sex, region or other attributes (principle 4, docs/policies.md)"
    )


def special_message(name: str, what: str) -> str | None:
    """Why ``name`` (a ``what``) is refused as special-category data, or None."""
    found = [r for r in read_name(name).refusals if r.kind == "special"]
    if not found:
        return None
    return (
        f"{what} {name!r} is refused{_through(name, found[0].word)}: it reveals "
        f"{found[0].concept}, special-category data that opencredit never records or scores "
        "(principle 5, docs/policies.md; GDPR Art. 9)"
    )


def name_refusals(name: str, what: str) -> list[str]:
    """Every reason ``name`` (a ``what``: record kind, purpose, factor id...) is refused: a
    person attribute, special-category data, or both (``sex``). Empty if it is not."""
    return [m for m in (attribute_message(name, what), special_message(name, what)) if m]


def name_doubts(name: str, what: str) -> list[str]:
    """Doubts about a name that is not refused: an ambiguous word, a refused term inside
    another word. For lint warnings; empty for a refused name (its errors say enough)."""
    reading = read_name(name)
    if reading.refusals:
        return []
    return [f"{what} {name!r}: {doubt}" for doubt in reading.doubts]


def refuse_special(name: str, what: str) -> None:
    """Raise :class:`RefusedData` if ``name`` (a ``what``: kind, category, ...) is special."""
    message = special_message(name, what)
    if message is not None:
        raise RefusedData(message)


def refuse_name(name: str, what: str) -> None:
    """Raise :class:`RefusedData` if ``name`` names a person attribute or special-category
    data, with every reason."""
    reasons = name_refusals(name, what)
    if reasons:
        raise RefusedData("; ".join(reasons))
