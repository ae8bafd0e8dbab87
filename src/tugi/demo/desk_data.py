"""Fixed data of the demo's service desk: queues, SLA policies, routing, templates and cases.

Plain data, like `data` and `access_data`; `desk_plan` resolves it against the organisation. The
cases are what the application-support desk of the Social Insurance Board meets (DOMAIN.md):
SKAIS2 modules, STAR, EESSI and the external registers, from the agency's own staff and from
local-government STAR users, on every channel. Every case is fictional.

References used below, resolved by `desk_plan`:

- a requester is ``unit:<code>`` (an active member of that unit, chosen by the plan's seed),
  ``head:<code>`` (the unit's head, who has a login), ``login:<username>``, ``foreign:<country>``
  (the foreign staff member from that country, who writes in English), ``ext:<key>`` (one of
  `EXTERNAL_REQUESTERS`, people outside the agency) or ``same:<case key>`` (the requester of an
  earlier case);
- a queue member is ``login:<username>`` or ``head:<code>``;
- a step's actor is a demo username (`DESK`, `SPECIALIST`); the requester's own follow-ups say
  no actor (the channel decides who writes them down).

Addresses outside the agency (local governments, RIT, the vendor) use the reserved `.example`
domain: a demo case that is mailed never reaches a real mailbox outside the agency.

SLA targets are in working minutes on the business calendar (`tugi.desk.calendar`); a working
day here is eight working hours.
"""

from dataclasses import dataclass

# Demo usernames that act on cases (from data.LOGINS).
DESK = "desk"
SPECIALIST = "specialist"
MANAGER = "admin"  # holds desk.manage_desk: writes queues, policies, rules and templates

# Queue.Kind, Case.Channel, Case.Category and Case.Status values, written out so that the plan
# needs no Django models.
DESK_QUEUE, SPECIALISTS_QUEUE = "desk", "specialists"
PORTAL, EMAIL, PHONE, API = "portal", "email", "phone", "api"
QUESTION, MALFUNCTION, DATA, ACCESS = "question", "malfunction", "data", "access"
NEW, OPEN, WAITING_REQUESTER, WAITING_THIRD_PARTY = (
    "new",
    "open",
    "waiting_requester",
    "waiting_third_party",
)
RESOLVED, CLOSED = "resolved", "closed"
HIGH, MEDIUM, LOW = 1, 2, 3

HOUR = 60
WORKING_DAY = 8 * HOUR


@dataclass(frozen=True)
class QueueSpec:
    """A work queue and its members (references, see the module's docstring)."""

    code: str
    name: str
    name_en: str
    kind: str
    email: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class SlaSpec:
    """Agreed targets for a priority (and optionally one category), in working minutes."""

    name: str
    priority: int
    category: str
    first_response_minutes: int
    resolution_minutes: int
    warn_before_minutes: int


@dataclass(frozen=True)
class RuleSpec:
    """A routing rule: conditions (system code, category, keyword) and the queue (by code)."""

    order: int
    name: str
    system: str
    category: str
    keyword: str
    queue: str
    assignee: str = ""


@dataclass(frozen=True)
class TemplateSpec:
    """A reply template; `key` names it for the cases, one template per key and language."""

    key: str
    language: str
    name: str
    body: str


@dataclass(frozen=True)
class PartySpec:
    """A third party the desk escalates to: name, e-mail, and where their tracker lives."""

    key: str
    name: str
    email: str
    url: str  # their ticket's link, with {reference}


@dataclass(frozen=True)
class ExternalRequester:
    """Somebody outside the agency who writes to the desk (a STAR user, a service provider)."""

    key: str
    name: str
    email: str


@dataclass(frozen=True)
class Step:
    """One thing done on a case after it was opened; what the fields mean depends on `kind`."""

    kind: str
    text: str = ""
    by: str = ""
    value: str = ""
    template: str = ""
    reference: str = ""
    number: int = 0
    second: int = 0


@dataclass(frozen=True)
class CaseSpec:
    """A case: who opens it how and about what, what happens to it, and the status it ends in.

    `sla_used` is working minutes the SLA clock had used before the load (the case came in
    earlier that much): it puts one case close to its due time and one past it.
    """

    key: str
    requester: str
    channel: str
    system: str
    module: str
    category: str
    impact: int
    urgency: int
    subject: str
    body: str
    steps: tuple[Step, ...]
    status: str
    language: str = "et"
    tags: tuple[str, ...] = ()
    sla_used: int = 0


# --- step constructors --------------------------------------------------------------------------


def reply(text: str = "", *, status: str = "", template: str = "") -> Step:
    """The desk answers the requester (with a template: its text when `text` is empty)."""
    return Step("reply", text, DESK, status, template)


def note(text: str, by: str = DESK) -> Step:
    """An internal note (by a specialist of the group the case is escalated to, or the desk)."""
    return Step("note", text, by)


def write(text: str) -> Step:
    """The requester writes again (by mail, on the portal, or on the phone to the desk)."""
    return Step("write", text)


def assign(to: str = DESK) -> Step:
    """The desk takes the case (or gives it to a user)."""
    return Step("assign", by=DESK, value=to)


def to_party(party: str, summary: str, reference: str, hours: int) -> Step:
    """Escalate to a third party; their reference, an answer due in `hours` working hours."""
    return Step("to_party", summary, DESK, party, reference=reference, number=hours)


def party_answers(text: str) -> Step:
    """The third party's reply to the case's latest third-party escalation (by mail)."""
    return Step("party_reply", text)


def close_escalation() -> Step:
    """The desk closes the case's latest escalation."""
    return Step("close_escalation", by=DESK)


def to_specialists(queue: str, summary: str) -> Step:
    """Escalate to a specialist group (an internal note with the summary)."""
    return Step("to_specialists", summary, DESK, queue)


def priority(impact: int, urgency: int) -> Step:
    """The desk changes impact and urgency (the priority and SLA follow)."""
    return Step("priority", by=DESK, number=impact, second=urgency)


def spend(minutes: int, text: str = "") -> Step:
    """The desk logs working time."""
    return Step("time", text, DESK, number=minutes)


def resolve(text: str) -> Step:
    """The desk resolves the case with a public reply."""
    return Step("resolve", text, DESK)


def rate(score: int, comment: str = "") -> Step:
    """The requester rates the resolved case through the one-click link of the resolution mail."""
    return Step("rate", comment, number=score)


def close() -> Step:
    """The desk closes the resolved case."""
    return Step("close", by=DESK)


def under(parent: str) -> Step:
    """The desk links the case under a parent case (by key)."""
    return Step("parent", by=DESK, value=parent)


def duplicate_of(original: str) -> Step:
    """The desk resolves the case as a duplicate of another (by key)."""
    return Step("duplicate", by=DESK, value=original)


def wait_for_requester(reason: str) -> Step:
    """The desk sets the case waiting for the requester without a reply (e.g. agreed by phone)."""
    return Step("status", reason, DESK, WAITING_REQUESTER)


# --- the desk's settings ------------------------------------------------------------------------

DESK_CODE = "RAKENDUSTUGI"
PENSIONS_CODE = "SKAIS2-PEN"
STAR_CODE = "STAR"

QUEUES = (
    QueueSpec(
        DESK_CODE,
        "Rakendustugi",
        "Application support",
        DESK_QUEUE,
        "rakendustugi@sotsiaalkindlustusamet.example",
        ("login:desk",),
    ),
    QueueSpec(
        PENSIONS_CODE,
        "SKAIS2 pensionide valdkond",
        "SKAIS2 pensions specialists",
        SPECIALISTS_QUEUE,
        "",
        # The domain specialist, and the pension units' heads: the pension specialists who
        # have a Tugi login in the demo.
        ("login:specialist", "head:PEN-MT", "head:PEN-VT", "head:PEN-RT"),
    ),
    QueueSpec(
        STAR_CODE,
        "STAR valdkond",
        "STAR specialists",
        SPECIALISTS_QUEUE,
        "",
        # The domain specialist and STAR's owner.
        ("login:specialist", "login:owner"),
    ),
)

SLA_POLICIES = (
    SlaSpec("P1 kriitiline", 1, "", 30, 4 * HOUR, 15),
    SlaSpec("P2 kõrge", 2, "", 2 * HOUR, WORKING_DAY, 30),
    SlaSpec("P3 keskmine", 3, "", 4 * HOUR, 3 * WORKING_DAY, HOUR),
    # An access request waits for approvals: a longer resolution target than other P3 cases.
    SlaSpec("P3 keskmine – juurdepääs", 3, ACCESS, 4 * HOUR, 5 * WORKING_DAY, 2 * HOUR),
    SlaSpec("P4 madal", 4, "", WORKING_DAY, 10 * WORKING_DAY, 4 * HOUR),
)

ROUTING_RULES = (
    # Passwords first: the desk agent resets them, so the rule hands the case to them at once.
    RuleSpec(10, "Paroolid → rakendustugi (kohe töösse)", "", "", "parool", DESK_CODE, DESK),
    RuleSpec(20, "Juurdepääsuõigused → rakendustugi", "", ACCESS, "", DESK_CODE),
    RuleSpec(30, "SKAIS2 → rakendustugi", "SKAIS2", "", "", DESK_CODE),
    RuleSpec(40, "STAR → rakendustugi", "STAR", "", "", DESK_CODE),
    RuleSpec(50, "EESSI → rakendustugi", "EESSI", "", "", DESK_CODE),
    RuleSpec(60, "Elatisabi → rakendustugi", "", "", "elatisabi", DESK_CODE),
)

_SIGN_ET = "\n\nLugupidamisega\n{agent_name}\nRakendustugi, Sotsiaalkindlustusamet"
_SIGN_EN = "\n\nKind regards,\n{agent_name}\nApplication support, Social Insurance Board"

TEMPLATES = (
    TemplateSpec(
        "more_info",
        "et",
        "Lisainfo palve",
        "Tere, {requester_name}!\n\nAitäh pöördumise eest. Et saaksime juhtumit "
        "{case_reference} edasi uurida, saatke palun:\n- taotluse või toimiku number;\n"
        "- kuvatõmmis veateatest;\n- ligikaudne kellaaeg, millal viga ilmnes.\n\n"
        "Kuni vastuseni on pöördumine ootel." + _SIGN_ET,
    ),
    TemplateSpec(
        "more_info",
        "en",
        "Request for more information",
        "Hello {requester_name},\n\nthank you for contacting us. To look further into "
        "{case_reference}, please send us:\n- the application or file number;\n"
        "- a screenshot of the error message;\n- roughly when the error appeared.\n\n"
        "The case waits for your answer until then." + _SIGN_EN,
    ),
    TemplateSpec(
        "star_password",
        "et",
        "STAR-i parooli lähtestamine",
        "Tere, {requester_name}!\n\nLähtestasime teie STAR-i parooli. Ajutine parool saadeti "
        "teile eraldi SMS-iga; esimesel sisselogimisel palutakse see vahetada. Kui "
        "sisselogimine ikka ei õnnestu, vastake palun sellele kirjale (viide "
        "{case_reference})." + _SIGN_ET,
    ),
    TemplateSpec(
        "star_password",
        "en",
        "STAR password reset",
        "Hello {requester_name},\n\nwe have reset your STAR password. The temporary password "
        "was sent to you separately by text message; you will be asked to change it when you "
        "first sign in. If signing in still fails, please reply to this mail (reference "
        "{case_reference})." + _SIGN_EN,
    ),
    TemplateSpec(
        "known_outage",
        "et",
        "Teadaolev häire",
        "Tere, {requester_name}!\n\nTegemist on teadaoleva häirega, mida lahendame koos Riigi "
        "Info- ja Kommunikatsioonitehnoloogia Keskusega (RIT). Sidusime teie pöördumise "
        "{case_reference} häire põhijuhtumiga ja anname teada, kui teenus on taastunud.\n\n"
        "Vabandame ebamugavuste pärast." + _SIGN_ET,
    ),
    TemplateSpec(
        "known_outage",
        "en",
        "Known disruption",
        "Hello {requester_name},\n\nthis is a known disruption that we are resolving together "
        "with the state IT centre (RIT). We have linked {case_reference} to the main case of the "
        "disruption and will let you know when the service is back.\n\nWe apologise for the "
        "inconvenience." + _SIGN_EN,
    ),
    TemplateSpec(
        "to_vendor",
        "et",
        "Edastatud arendajale",
        "Tere, {requester_name}!\n\nKontrollisime pöördumist „{case_subject}“ ja edastasime "
        "selle SKAIS2 arendajale. Anname teada, kui parandus on paigaldatud; seni jääb "
        "juhtum {case_reference} meie jälgimisele." + _SIGN_ET,
    ),
    TemplateSpec(
        "to_vendor",
        "en",
        "Forwarded to the vendor",
        "Hello {requester_name},\n\nwe have looked into “{case_subject}” and forwarded it to "
        "the SKAIS2 vendor. We will let you know when the fix is installed; until then we keep "
        "following {case_reference}." + _SIGN_EN,
    ),
    TemplateSpec(
        "access_howto",
        "et",
        "Juurdepääsutaotluse juhis",
        "Tere, {requester_name}!\n\nÕiguste saamiseks esitage palun Tugis juurdepääsutaotlus: "
        "valige süsteem ja roll ning põhjendage vajadust viitega ametijuhendi tööülesandele. "
        "Taotluse kooskõlastab teie talituse juhataja, tundlike rollide korral ka süsteemi "
        "omanik. Taotluses võite viidata pöördumisele {case_reference}; kooskõlastatud taotluse "
        "täidame ühe tööpäeva jooksul." + _SIGN_ET,
    ),
    TemplateSpec(
        "access_howto",
        "en",
        "How to request access",
        "Hello {requester_name},\n\nto get the rights, please file an access request in Tugi: "
        "choose the system and the role and give the reason, naming the duty of your job "
        "description. Your head of unit approves it, and for sensitive roles the system owner "
        "too. You may refer to {case_reference} in the request; we fulfil an approved request "
        "within one working day." + _SIGN_EN,
    ),
    TemplateSpec(
        "resolved",
        "et",
        "Lahendatud",
        "Tere, {requester_name}!\n\nPöördumine {case_reference} on lahendatud. Kui probleem "
        "kordub, vastake palun sellele kirjale ja juhtum avatakse uuesti. Hinnake palun meie "
        "tööd kirjas oleva lingi kaudu." + _SIGN_ET,
    ),
    TemplateSpec(
        "resolved",
        "en",
        "Resolved",
        "Hello {requester_name},\n\n{case_reference} is resolved. If the problem comes back, "
        "please reply to this mail and the case is reopened. We would be glad of your rating "
        "through the link in this mail." + _SIGN_EN,
    ),
)

PARTIES = (
    PartySpec(
        "RIT",
        "Riigi Info- ja Kommunikatsioonitehnoloogia Keskus (RIT)",
        "teenusehaldus@rit.example",
        "https://jira.rit.example/browse/{reference}",
    ),
    PartySpec(
        "VENDOR",
        "SKAIS2 hoolduspartner (arendaja)",
        "skais2-hooldus@arendaja.example",
        "https://tracker.arendaja.example/issues/{reference}",
    ),
    PartySpec(
        "SMIT",
        "Siseministeeriumi infotehnoloogia- ja arenduskeskus (SMIT)",
        "kasutajatugi@smit.example",
        "https://taotlused.smit.example/{reference}",
    ),
)

EXTERNAL_REQUESTERS = (
    ExternalRequester("rae", "Kadri Lepp (Rae Vallavalitsus)", "kadri.lepp@rae.example"),
    ExternalRequester(
        "kohila", "Margit Allik (Kohila Vallavalitsus)", "margit.allik@kohila.example"
    ),
    ExternalRequester(
        "viljandi", "Tiina Raud (Viljandi Linnavalitsus)", "tiina.raud@viljandi.example"
    ),
    ExternalRequester("saue", "Priit Laur (Saue Vallavalitsus)", "priit.laur@saue.example"),
    ExternalRequester("provider", "Reet Kask (Taastusravi OÜ)", "reet.kask@taastusravi.example"),
)


# --- the cases ----------------------------------------------------------------------------------


def case(
    key: str,
    requester: str,
    channel: str,
    system: str,
    module: str,
    category: str,
    impact: int,
    urgency: int,
    subject: str,
    body: str,
    *steps: Step,
    status: str,
    language: str = "et",
    tags: tuple[str, ...] = (),
    sla_used: int = 0,
) -> CaseSpec:
    """A case; the steps are given as the remaining positional arguments.

    The desk takes a case before working it: a case that is no longer new starts with the desk
    agent assigning it to themselves, unless its steps assign it otherwise.
    """
    if status != NEW and not any(s.kind == "assign" for s in steps):
        steps = (assign(), *steps)
    return CaseSpec(
        key,
        requester,
        channel,
        system,
        module,
        category,
        impact,
        urgency,
        subject,
        body,
        steps,
        status,
        language,
        tags,
        sla_used,
    )


_PEN = "pensionid"
_PHV = "perehüvitised"
_EA = "elatisabi"
_HYV = "hüvitised"
_FIN = "maksed ja finants"
_GEN = "üldine"
_KOV = "kohalik omavalitsus"
_SKA = "Sotsiaalkindlustusamet"

# In the order they are loaded: finished cases first, the newest last; a parent before its
# children and an original before its duplicate.
CASES = (
    # --- resolved and closed ---------------------------------------------------------------
    case(
        "star-password-rae",
        "ext:rae",
        EMAIL,
        "STAR",
        _KOV,
        ACCESS,
        LOW,
        MEDIUM,
        "STAR-i parool aegus, ei pääse sisse",
        "Tere!\n\nSTAR küsis täna hommikul uut parooli, aga pärast vahetamist ütleb "
        "„Vale kasutajanimi või parool“. Proovisin kolm korda ja nüüd on konto lukus. Mul on "
        "täna kaks lastekaitsejuhtumit vaja sisestada.\n\nKadri Lepp\nsotsiaaltöötaja, Rae "
        "Vallavalitsus",
        reply(template="star_password"),
        write("Sain sisse, aitäh kiire abi eest!"),
        resolve("Parool on lähtestatud ja sisselogimine õnnestus. Pöördumine on lahendatud."),
        rate(5, "Väga kiire abi, aitäh!"),
        close(),
        status=CLOSED,
        tags=("parool",),
    ),
    case(
        "pension-pdf",
        "unit:PEN-MT",
        PHONE,
        "SKAIS2",
        _PEN,
        MALFUNCTION,
        MEDIUM,
        MEDIUM,
        "Pensioniotsuse PDF-i ei saa avada ega printida",
        "Helistas: vanaduspensioni otsuse eelvaade avaneb tühja lehena ja „Prindi“ ei tee "
        "midagi. Kolleegil samas ruumis töötab.",
        assign(),
        note(
            "Sama brauseri versioon nagu kolleegil; tõenäoliselt blokeerib hüpikaknaid "
            "laiendus. Kontrollisin kaugtöölaualt."
        ),
        reply(
            "Tere!\n\nPõhjus oli brauseri hüpikakende blokeerija: lubasime SKAIS2 aadressil "
            "hüpikaknad ja otsuse PDF avaneb nüüd uues aknas. Kui see kordub, andke palun "
            "teada.\n\nRakendustugi"
        ),
        spend(15, "Kaugtöölaud, brauseri seaded"),
        resolve("Hüpikaknad on SKAIS2 jaoks lubatud ja otsused prinditakse taas."),
        rate(4),
        close(),
        status=CLOSED,
    ),
    case(
        "alimony-access",
        "unit:HYV-ET",
        EMAIL,
        "SKAIS2",
        _EA,
        ACCESS,
        LOW,
        MEDIUM,
        "Uuele kolleegile ligipääs elatisabi moodulile",
        "Tere!\n\nMeie talitusse tuli esmaspäeval uus elatisabi spetsialist. Palun andke talle "
        "SKAIS2-s elatisabi menetleja õigused, et ta saaks taotlusi menetlema hakata.\n\nAitäh!",
        reply(template="access_howto"),
        resolve(
            "Juurdepääsutaotlus on esitatud ja talituse juhataja kooskõlastas selle; õigused on "
            "antud. Pöördumine on lahendatud."
        ),
        rate(5, "Hea juhis, edaspidi teame."),
        close(),
        status=CLOSED,
    ),
    case(
        "family-monthly-report",
        "login:requester",
        PORTAL,
        "SKAIS2",
        _PHV,
        QUESTION,
        LOW,
        LOW,
        "Kuidas koostada perehüvitiste kuuaruannet uues vaates?",
        "Pärast eelmise nädala uuendust ei leia ma enam perehüvitiste kuuaruannet. Varem oli "
        "see menüüs „Aruanded“. Kust see nüüd leida?",
        resolve(
            "Tere!\n\nKuuaruanne on nüüd menüüs „Statistika“ → „Perehüvitised“ → "
            "„Kuu koondaruanne“. Valige periood ja vajutage „Koosta“; aruande saab alla laadida "
            "Exceli failina.\n\nRakendustugi"
        ),
        rate(4, "Juhend oli selge."),
        status=RESOLVED,
    ),
    case(
        "unemployment-query",
        "unit:PTH-TT",
        EMAIL,
        "TK",
        "",
        MALFUNCTION,
        MEDIUM,
        MEDIUM,
        "Töötukassa andmete päring X-tee kaudu ei tagasta vastust",
        "Tere!\n\nTöövõime hindamise taotluses ei tule Töötukassa andmete päringule vastust, "
        "päring jääb olekusse „Ootel“. Eile pärastlõunal töötas.",
        assign(),
        note("X-tee monitooringus on Töötukassa alamsüsteemi teenus punane alates eilsest 16:40."),
        to_party(
            "RIT",
            "Tere!\n\nSotsiaalkindlustusameti SKAIS2 päringud Töötukassa andmetele X-tee kaudu "
            "jäävad vastuseta alates eilsest pärastlõunast. Palun kontrollige turvaserveri "
            "ühendust Töötukassa alamsüsteemiga.\n\nRakendustugi",
            "RIT-2026-4287",
            8,
        ),
        party_answers(
            "Tere!\n\nTurvaserveri sertifikaat oli aegunud; uuendasime selle ja päringud "
            "töötavad taas.\n\nRIT teenusehaldus"
        ),
        resolve(
            "X-tee turvaserveri sertifikaat uuendati ja Töötukassa andmete päringud töötavad "
            "taas. Palun korrake ootele jäänud päringud."
        ),
        rate(3, "Lahendus tuli, aga ootasime terve päeva."),
        status=RESOLVED,
        tags=("X-tee",),
    ),
    case(
        "insurance-period-double",
        "unit:PEN-RT",
        EMAIL,
        "SKAIS2",
        _PEN,
        DATA,
        MEDIUM,
        LOW,
        "Kindlustusperioodi parandus: topeltkanne 2019. aasta eest",
        "Tere!\n\nIsiku kindlustusperioodides on 2019. aasta teine poolaasta kaks korda "
        "(üks kanne tööandja TSD-st, teine käsitsi lisatud). Staaž tuleb seetõttu pool aastat "
        "pikem. Toimiku number on manuses oleval väljavõttel.",
        assign(),
        to_specialists(
            PENSIONS_CODE,
            "Palun kontrollige kindlustusperioode: 2019. aasta II poolaasta on kahe kandena. "
            "Kas käsitsi lisatud kande võib kustutada?",
        ),
        note(
            "Kontrollisin: käsitsi lisatud kanne oli ekslik, kustutasin selle. Staaž on nüüd "
            "õige, ümberarvutust pole vaja.",
            by=SPECIALIST,
        ),
        resolve(
            "Topeltkanne on kustutatud ja kindlustusperioodid on õiged. Pensioni ümberarvutust "
            "ei ole vaja."
        ),
        close(),
        status=CLOSED,
        tags=("andmeparandus",),
    ),
    case(
        "english-interface",
        "foreign:LV",
        EMAIL,
        "SKAIS2",
        _GEN,
        QUESTION,
        LOW,
        LOW,
        "Can the SKAIS2 interface be switched to English?",
        "Hello,\n\nI joined the pension awarding unit last month. My Estonian is getting "
        "better, but some menus are hard for me. Is there an English version of SKAIS2?\n\n"
        "Thank you!",
        resolve(
            "Hello,\n\nSKAIS2 has an English interface: open your name in the top right corner, "
            "choose “Settings” and set the language to English. Decisions and letters stay in "
            "Estonian, as they are sent to clients.\n\nApplication support"
        ),
        rate(5, "Thank you, very clear."),
        status=RESOLVED,
        language="en",
    ),
    case(
        "assistive-card-dates",
        "unit:REH-AT",
        PHONE,
        "SKAIS2",
        "abivahendid",
        DATA,
        MEDIUM,
        MEDIUM,
        "Isikliku abivahendi kaardil vale kehtivusaeg",
        "Helistas: kliendi isikliku abivahendi kaardi kehtivus lõpeb süsteemi järgi eelmisel "
        "kuul, kuigi otsus on kuni 2028. aastani. Ettevõte ei saa abivahendit väljastada.",
        assign(),
        write("Helistas uuesti: ettevõte ootab, klient on kohal."),
        note("Kaardi kehtivus oli kopeeritud vanast otsusest; parandasin otsuse järgi."),
        resolve("Abivahendi kaardi kehtivusaeg on parandatud otsuse järgi (kuni 2028)."),
        rate(2, "Pidin kaks korda helistama, enne kui keegi asjaga tegeles."),
        close(),
        status=CLOSED,
    ),
    case(
        "victim-notice",
        "head:OHV-OT",
        API,
        "SKAIS2",
        "ohvriabi",
        MALFUNCTION,
        LOW,
        MEDIUM,
        "Ohvriabi hüvitise otsusest ei teki kliendile teavitust",
        "Otsuse kinnitamisel ei teki kliendile eesti.ee teavitust, kuigi kontaktandmed on "
        "olemas. Juhtus kolme otsusega reedel.",
        reply(
            "Tere!\n\nTeavituste saatmine oli reedel RIT-i plaanilise hoolduse tõttu peatatud; "
            "ootele jäänud teavitused saadeti esmaspäeva hommikul. Palun kontrollige, kas need "
            "on nüüd otsuste juures näha.\n\nRakendustugi"
        ),
        write("Jah, nüüd on kõigil kolmel teavitus saadetud. Aitäh!"),
        resolve("Teavitused on saadetud; põhjus oli plaaniline hooldus."),
        rate(4),
        status=RESOLVED,
    ),
    case(
        "digidoc-signature",
        "unit:OIG-NT",
        EMAIL,
        "",
        "",
        QUESTION,
        LOW,
        MEDIUM,
        "Digiallkiri ei kinnitu DigiDoc4-s pärast ID-kaardi vahetust",
        "Tere!\n\nSain uue ID-kaardi ja nüüd ütleb DigiDoc4 allkirjastamisel, et sertifikaat ei "
        "ole kehtiv. Tagasinõude otsused on vaja täna allkirjastada.",
        reply(
            "Tere!\n\nUue kaardi sertifikaadid tuleb ID-tarkvaras korra registreerida: avage "
            "DigiDoc4 → „Minu eID“ ja vajutage „Registreeri sertifikaat“. Pärast seda "
            "taaskäivitage DigiDoc4.\n\nRakendustugi"
        ),
        resolve("Sertifikaadid on registreeritud ja allkirjastamine töötab."),
        status=RESOLVED,
    ),
    case(
        "skais1-view-right",
        "head:PEN-VT",
        PORTAL,
        "SKAIS1",
        "",
        ACCESS,
        LOW,
        LOW,
        "SKAIS1 vaatamisõigus vanade välispensionide toimikute jaoks",
        "Kaks meie spetsialisti vajavad SKAIS1 vaatamisõigust, et lõpetada 2018.–2019. aasta "
        "välispensionide toimikud, mida SKAIS2-sse üle ei viidud.",
        reply(template="access_howto"),
        resolve("Taotlused on esitatud ja kooskõlastatud; SKAIS1 vaatamisõigused on antud."),
        rate(5),
        status=RESOLVED,
    ),
    case(
        "smart-id-login",
        "unit:PHO-MT",
        PHONE,
        "SKAIS2",
        _GEN,
        ACCESS,
        MEDIUM,
        HIGH,
        "SKAIS2-sse ei saa Smart-ID-ga sisse, parool ei aita",
        "Helistas: Smart-ID-ga sisselogimisel tuleb viga „Kasutajal puudub ligipääs“. Proovis "
        "ka ID-kaardiga, sama tulemus. Eile töötas.",
        note(
            "Kasutaja konto oli puhkuse ajaks peatatud (puudumise reegel) ja peatamine ei "
            "lõppenud tagasituleku päeval. Lõpetasin peatamise."
        ),
        resolve("Konto peatamine on lõpetatud ja sisselogimine töötab taas."),
        rate(5, "Helistasin ja viie minutiga oli lahendatud."),
        status=RESOLVED,
        tags=("sisselogimine",),
    ),
    case(
        "debtor-data",
        "unit:HYV-ET",
        EMAIL,
        "SKAIS2",
        _EA,
        DATA,
        MEDIUM,
        LOW,
        "Elatisabi võlgniku aadress kohtutäituri nõudes vale",
        "Tere!\n\nKohtutäiturile edastatud nõudes on võlgniku vana aadress, kuigi "
        "rahvastikuregistris on uus. Kas SKAIS2 ei uuenda aadressi automaatselt?",
        reply(
            "Tere!\n\nAadress uuendatakse rahvastikuregistrist öösel, aga juba koostatud nõude "
            "andmed ei muutu. Koostage palun nõue uuesti; vana nõude saab tühistada nupuga "
            "„Tühista“.\n\nRakendustugi"
        ),
        resolve("Nõue on uuesti koostatud õige aadressiga."),
        close(),
        status=CLOSED,
    ),
    case(
        "statistics-quarter",
        "head:ARE-ANT",
        API,
        "SKAIS2",
        _GEN,
        QUESTION,
        LOW,
        LOW,
        "Aruandluse vaates puudub eelmise kvartali koondandmestik",
        "Kvartaliülevaate jaoks on vaja eelmise kvartali koondandmeid, aga aruandluse vaates "
        "lõpeb periood kuu varem.",
        resolve(
            "Kvartali koondandmestik laaditakse iga kuu 5. tööpäeval; tänane laadimine on nüüd "
            "tehtud ja eelmise kvartali andmed on aruandluse vaates olemas."
        ),
        rate(4),
        status=RESOLVED,
    ),
    case(
        "rehab-referral-sign",
        "unit:REH-RT",
        EMAIL,
        "SKAIS2",
        "rehabilitatsioon",
        MALFUNCTION,
        MEDIUM,
        MEDIUM,
        "Rehabilitatsiooni suunamisotsust ei saa allkirjastada",
        "Tere!\n\nSuunamisotsuse allkirjastamisel tuleb veateade „Dokumendi räsi ei vasta“. "
        "Proovisin nii ID-kaardi kui Mobiil-ID-ga.",
        reply(template="more_info", status=WAITING_REQUESTER),
        write("Otsuse number on manuses. Viga tuli täna kell 10.15."),
        note("Otsuse mallis oli pärast muudatust vigane lisa; taastasin malli eelmise versiooni."),
        resolve("Suunamisotsuse mall on parandatud ja otsuseid saab taas allkirjastada."),
        status=RESOLVED,
    ),
    case(
        "eessi-family-sector",
        "unit:PHO-MT",
        EMAIL,
        "EESSI",
        "",
        ACCESS,
        LOW,
        MEDIUM,
        "EESSI kasutajale perehüvitiste sektori lisamine",
        "Tere!\n\nMul on EESSI-s ainult pensionide sektor, aga menetlen nüüd ka piiriüleseid "
        "perehüvitiste juhtumeid. Palun lisage perehüvitiste sektor.",
        reply(template="access_howto"),
        resolve("Perehüvitiste sektor on lisatud kooskõlastatud taotluse alusel."),
        rate(5),
        close(),
        status=CLOSED,
    ),
    case(
        "business-register-expired",
        "unit:OIG-NT",
        EMAIL,
        "AR",
        "",
        ACCESS,
        LOW,
        LOW,
        "e-äriregistri päringuõigus aegus",
        "Tere!\n\ne-äriregister ütleb, et mu õigus on lõppenud. Vajan seda võlgnike "
        "ettevõtete kontrolliks.",
        reply(
            "Tere!\n\ne-äriregistri õigus kehtib kaks aastat ja teie oma lõppes eelmisel nädalal. "
            "Esitage palun Tugis uus juurdepääsutaotlus; pärast kooskõlastust pikendab ameti "
            "e-äriregistri administraator õiguse.\n\nRakendustugi"
        ),
        resolve("Õigus on pikendatud kaheks aastaks."),
        status=RESOLVED,
    ),
    case(
        "mediation-template",
        "head:OHV-LT",
        PORTAL,
        "SKAIS2",
        "ohvriabi",
        QUESTION,
        LOW,
        LOW,
        "Lepitusteenuse kokkuleppe malli muutmine",
        "Lepitusteenuse kokkuleppe mallis on vana seaduse viide. Kes saab malli muuta?",
        resolve(
            "Tekstimalle muudab klassifikaatorite haldur; edastasime muudatuse tooteomanikule ja "
            "uus mall on kasutusel alates tänasest."
        ),
        rate(5),
        status=RESOLVED,
    ),
    # --- the outage: a parent with two children, a duplicate of one of them ------------------
    case(
        "pension-outage",
        "head:PEN-MT",
        PHONE,
        "SKAIS2",
        _PEN,
        MALFUNCTION,
        HIGH,
        HIGH,
        "SKAIS2 pensionide moodul ei avane – „Teenus ei ole kättesaadav“",
        "Helistas talituse juhataja: kogu pensionide määramise talitusel avaneb pensionide "
        "moodul veateatega „Teenus ei ole kättesaadav (503)“. Teised moodulid töötavad. "
        "Menetlused seisavad.",
        assign(),
        reply(
            "Tere!\n\nOleme häirest teadlikud: pensionide mooduli teenus ei vasta alates kella "
            "9.40-st. Edastasime selle kohe RIT-ile ja teavitame, kui teenus taastub.\n\n"
            "Rakendustugi"
        ),
        to_party(
            "RIT",
            "Tere!\n\nSKAIS2 pensionide mooduli teenus vastab alates 9.40 veaga 503 "
            "(„Teenus ei ole kättesaadav“); teised moodulid töötavad. Mõjutatud on kogu "
            "pensionide määramise talitus. Palun kontrollige pensionide mooduli rakendusserverit "
            "ja andke teada hinnanguline taastumise aeg.\n\nRakendustugi",
            "RIT-2026-4411",
            4,
        ),
        note("Sama viga teatasid veel kaks kasutajat; sidusin nende pöördumised selle alla."),
        status=WAITING_THIRD_PARTY,
        tags=("häire",),
    ),
    case(
        "pension-outage-mail",
        "unit:PEN-MT",
        EMAIL,
        "SKAIS2",
        _PEN,
        MALFUNCTION,
        MEDIUM,
        HIGH,
        "Pensionide moodul jääb laadima",
        "Tere!\n\nPensionitaotluse avamisel jääb leht laadima ja lõpuks tuleb viga 503. "
        "Mul on täna kümme taotlust tähtajaga.",
        under("pension-outage"),
        reply(template="known_outage"),
        status=OPEN,
        tags=("häire",),
    ),
    case(
        "pension-outage-portal",
        "login:specialist",
        PORTAL,
        "SKAIS2",
        _PEN,
        MALFUNCTION,
        MEDIUM,
        HIGH,
        "Ei saa pensionitoimikut avada (viga 503)",
        "Pensionitoimiku avamisel tuleb „Teenus ei ole kättesaadav“. Eskaleeritud pöördumisi "
        "ei saa seetõttu kontrollida.",
        under("pension-outage"),
        status=NEW,
        tags=("häire",),
    ),
    case(
        "pension-outage-again",
        "same:pension-outage-mail",
        EMAIL,
        "SKAIS2",
        _PEN,
        MALFUNCTION,
        MEDIUM,
        HIGH,
        "Re: Pensionide moodul jääb laadima",
        "Tere uuesti!\n\nKirjutan veel kord: pensionide moodul ei tööta endiselt. Kas keegi "
        "tegeleb sellega?",
        duplicate_of("pension-outage-mail"),
        status=RESOLVED,
    ),
    # --- waiting for a third party -----------------------------------------------------------
    case(
        "eessi-missing-sed",
        "unit:PEN-VT",
        EMAIL,
        "EESSI",
        "",
        MALFUNCTION,
        MEDIUM,
        MEDIUM,
        "EESSI-s puudub Läti asutuse saadetud P5000",
        "Tere!\n\nLäti VSAA teatas, et saatis meile eelmisel nädalal SED P5000 "
        "(kindlustusperioodid), aga meie EESSI postkasti seda ei ole. Nende poolt on olek "
        "„Edastatud“.",
        assign(),
        note(
            "EESSI riiklikus rakenduses ei ole seda BUC-i meie poolel üldse; tõenäoliselt jäi "
            "kinni pääsupunkti (Access Point) järjekorda."
        ),
        reply(
            "Tere!\n\nKontrollisime: dokument ei ole meie EESSI rakendusse jõudnud. Edastasime "
            "päringu RIT-ile, kes haldab EESSI pääsupunkti.\n\nRakendustugi"
        ),
        to_party(
            "RIT",
            "Tere!\n\nLäti asutuse VSAA saadetud SED P5000 ei ole jõudnud "
            "Sotsiaalkindlustusameti EESSI rakendusse; saatja poolel on olek „Edastatud“. Palun "
            "kontrollige pääsupunkti järjekorda ja vigaseid sõnumeid.\n\nRakendustugi",
            "RIT-2026-4432",
            16,
        ),
        status=WAITING_THIRD_PARTY,
        tags=("EESSI",),
    ),
    case(
        "population-register-renewal",
        "unit:HYV-ET",
        EMAIL,
        "RR",
        "",
        ACCESS,
        LOW,
        MEDIUM,
        "Rahvastikuregistri päringuõigus lõppes",
        "Tere!\n\nRahvastikuregistri päringud ei tööta enam – süsteem ütleb, et õigus on "
        "lõppenud. Vajan neid elatisabi võlgnike elukoha kontrolliks.",
        reply(
            "Tere!\n\nRahvastikuregistri õigus antakse kuni aastaks ja teie oma lõppes. "
            "Esitasime pikendamise taotluse Siseministeeriumi juurdepääsutaotluste süsteemis; "
            "anname teada, kui õigus on antud.\n\nRakendustugi"
        ),
        to_party(
            "SMIT",
            "Tere!\n\nPalun pikendage Sotsiaalkindlustusameti elatisabi spetsialisti "
            "rahvastikuregistri päringuõigust üheks aastaks; taotlus on esitatud "
            "juurdepääsutaotluste süsteemis. Eesmärk: elatisabi võlgnike elukoha kontroll.\n\n"
            "Rakendustugi",
            "SMIT-JT-10533",
            24,
        ),
        status=WAITING_THIRD_PARTY,
    ),
    case(
        "returned-payments-import",
        "unit:FIN-RT",
        PHONE,
        "SKAIS2",
        _FIN,
        MALFUNCTION,
        MEDIUM,
        MEDIUM,
        "Pangast tagasi tulnud maksete fail ei impordi",
        "Helistas: tagastatud maksete faili import katkeb veaga „Tundmatu failivorming“. Pank "
        "vahetas eelmisel nädalal failiformaadi uue versiooni vastu.",
        assign(),
        reply(template="to_vendor"),
        to_party(
            "VENDOR",
            "Tere!\n\nPank on üle läinud camt.054 uuele versioonile ja SKAIS2 tagastatud maksete "
            "import katkeb veaga „Tundmatu failivorming“. Palun lisage uue versiooni tugi; "
            "näidisfail (isikuandmeteta) on meie juures olemas.\n\nRakendustugi",
            "SKAIS-HLD-2305",
            24,
        ),
        status=WAITING_THIRD_PARTY,
    ),
    case(
        "alimony-report-error",
        "head:HYV-ET",
        API,
        "SKAIS2",
        _EA,
        MALFUNCTION,
        MEDIUM,
        MEDIUM,
        "Elatisabi võlgnike aruanne annab vea",
        "Elatisabi võlgnike kuuaruande koostamisel tuleb viga „Päringu täitmine katkestati“. "
        "Aruannet on vaja kohtutäituritele edastamiseks.",
        assign(),
        to_party(
            "VENDOR",
            "Tere!\n\nSKAIS2 elatisabi võlgnike kuuaruande koostamine katkeb veaga „Päringu "
            "täitmine katkestati“ (ajapiirang). Palun uurige aruande päringut.\n\nRakendustugi",
            "SKAIS-HLD-2291",
            24,
        ),
        party_answers(
            "Tere!\n\nAruande päringul puudus indeks võlgnike tabelil. Parandus on versioonis "
            "4.18.2, mille paigaldus on neljapäeval kell 18.\n\nSKAIS2 hooldus"
        ),
        reply(
            "Tere!\n\nArendaja leidis vea põhjuse; parandus paigaldatakse neljapäeva õhtul. Seni "
            "saab aruande koostada lühema perioodi kaupa (nt nädal korraga).\n\nRakendustugi"
        ),
        status=OPEN,
    ),
    # --- waiting for the requester -----------------------------------------------------------
    case(
        "family-decision-stuck",
        "login:requester",
        PORTAL,
        "SKAIS2",
        _PHV,
        MALFUNCTION,
        MEDIUM,
        MEDIUM,
        "Perehüvitise otsus jäi olekusse „Kinnitamisel“",
        "Vanemahüvitise otsus on kolmandat päeva olekus „Kinnitamisel“ ja kinnitaja ei näe "
        "seda oma töölaual. Klient helistab iga päev.",
        assign(),
        note("Logis on otsuse töövoos viga „Kinnitaja puudub“: kinnitaja võis olla puhkusel."),
        reply(template="more_info", status=WAITING_REQUESTER),
        status=WAITING_REQUESTER,
    ),
    case(
        "star-new-social-worker",
        "ext:viljandi",
        EMAIL,
        "STAR",
        _KOV,
        ACCESS,
        LOW,
        MEDIUM,
        "Uue sotsiaaltöötaja lisamine STAR-i",
        "Tere!\n\nMeile tuli uus sotsiaaltöötaja. Meie enda STAR-i administraator on puhkusel – "
        "kas saate tema kasutaja lisada?\n\nTiina Raud\nViljandi Linnavalitsus",
        reply(
            "Tere!\n\nLisame kasutaja digitaalselt allkirjastatud taotluse alusel. Saatke palun "
            "taotlus, kus on uue töötaja nimi, isikukood, ametinimetus, vajalikud rollid ja "
            "e-posti aadress.\n\nRakendustugi",
            status=WAITING_REQUESTER,
        ),
        status=WAITING_REQUESTER,
    ),
    case(
        "payment-preview-currency",
        "foreign:FI",
        EMAIL,
        "SKAIS2",
        _FIN,
        MALFUNCTION,
        LOW,
        MEDIUM,
        "Payment file preview shows amounts without currency",
        "Hello,\n\nthe preview of the foreign payments file shows the amounts without the "
        "currency, so I cannot check the SEK and NOK payments before approval.\n\nBest regards",
        reply(template="more_info", status=WAITING_REQUESTER),
        status=WAITING_REQUESTER,
        language="en",
    ),
    case(
        "disability-attachments",
        "unit:PTH-PT",
        EMAIL,
        "SKAIS2",
        "puude raskusastme tuvastamine",
        MALFUNCTION,
        LOW,
        MEDIUM,
        "Taotluse manused ei avane ekspertiisi vaates",
        "Tere!\n\nPuude raskusastme taotluse manused (arstlikud dokumendid) ei avane ekspertiisi "
        "vaates, tuleb tühi aken. Taotluse vaates avanevad.",
        reply(template="more_info", status=WAITING_REQUESTER),
        status=WAITING_REQUESTER,
    ),
    case(
        "child-protection-star",
        "head:LAK-LT",
        PORTAL,
        "STAR",
        _SKA,
        QUESTION,
        LOW,
        LOW,
        "Kuidas näha omavalitsuse lastekaitsejuhtumit STAR-is?",
        "Omavalitsus palus meil nõu anda ühe lastekaitsejuhtumi osas, aga ma ei näe STAR-is "
        "nende juhtumit. Mida on selleks vaja?",
        reply(
            "Tere!\n\nOmavalitsuse juhtumit näeb ameti lastekaitse spetsialisti rolliga, kui "
            "omavalitsus on juhtumi ametiga jaganud. Kas omavalitsus on juhtumi jaganud? Kui "
            "jah, saatke palun juhtumi number.\n\nRakendustugi",
            status=WAITING_REQUESTER,
        ),
        status=WAITING_REQUESTER,
    ),
    case(
        "pension-index-question",
        "unit:PEN-MT",
        PHONE,
        "SKAIS2",
        _PEN,
        QUESTION,
        LOW,
        LOW,
        "Indekseerimise ümberarvutuse nimekiri",
        "Helistas: kust leida nimekiri pensionidest, mille indekseerimine jäi automaatselt "
        "tegemata?",
        assign(),
        wait_for_requester("Kokku lepitud: kasutaja saadab nimekirja kuvatõmmise e-postiga."),
        status=WAITING_REQUESTER,
    ),
    # --- escalated to the specialists --------------------------------------------------------
    case(
        "pension-recalculation",
        "unit:PEN-MT",
        EMAIL,
        "SKAIS2",
        _PEN,
        DATA,
        MEDIUM,
        MEDIUM,
        "Pensioni ümberarvutus andis vale summa",
        "Tere!\n\nPärast kindlustusstaaži lisamist arvutas SKAIS2 vanaduspensioni ümber, aga uus "
        "summa on väiksem kui enne. Kas arvutus võtab staaži valesti arvesse?",
        assign(),
        to_specialists(
            PENSIONS_CODE,
            "Palun vaadake üle: staaži lisamise järel väiksem pension. Kas ümberarvutus "
            "kasutas õiget kindlustusosakut?",
        ),
        note(
            "Kontrollisin: ümberarvutus kasutas vana aastakoefitsienti, sest staaž lisati "
            "tagasiulatuvalt. Arvutus tuleb teha uuesti käsitsi kuupäevaga; juhend on "
            "pensionide tööjuhendi punktis 4.3.",
            by=SPECIALIST,
        ),
        reply(
            "Tere!\n\nPensionide valdkonna spetsialist kontrollis arvutust: tagasiulatuva staaži "
            "korral tuleb ümberarvutus teha käsitsi kuupäevaga (tööjuhendi p 4.3). Kas saate "
            "selle nii teha või soovite, et teeme koos?\n\nRakendustugi"
        ),
        spend(25, "Arvutuse kontroll koos spetsialistiga"),
        status=OPEN,
    ),
    case(
        "early-pension-foreign",
        "unit:PEN-MT",
        EMAIL,
        "SKAIS2",
        _PEN,
        QUESTION,
        MEDIUM,
        LOW,
        "Ennetähtaegse pensioni taotlus ei arvesta välisriigi staaži",
        "Tere!\n\nEnnetähtaegse vanaduspensioni taotlusel ei arvesta SKAIS2 Soomes töötatud "
        "aastaid, kuigi E205 on olemas. Kas see on õige?",
        assign(),
        to_specialists(
            PENSIONS_CODE,
            "Kas ennetähtaegse vanaduspensioni õiguse kontroll peab arvestama EL-i "
            "liikmesriigi kindlustusperioode (E205 olemas)? Kasutaja arvates SKAIS2 ei arvesta.",
        ),
        reply(
            "Tere!\n\nEdastasime küsimuse pensionide valdkonna spetsialistidele, kes kontrollivad "
            "õiguse arvutust. Anname vastuse niipea, kui see on selge.\n\nRakendustugi"
        ),
        status=OPEN,
    ),
    case(
        "star-invoices-sync",
        "unit:REH-RT",
        EMAIL,
        "STAR",
        _SKA,
        MALFUNCTION,
        MEDIUM,
        MEDIUM,
        "STAR-i rehabilitatsiooniarved ei jõua SKAIS2-sse",
        "Tere!\n\nTeenuseosutajate eelmise nädala rehabilitatsiooniarved on STAR-is kinnitatud, "
        "aga SKAIS2 maksete vaates neid ei ole.",
        assign(),
        to_specialists(
            STAR_CODE,
            "Kinnitatud rehabilitatsiooniarved ei ole STAR-ist SKAIS2-sse üle tulnud. Kas "
            "liidese öine töö jooksis?",
        ),
        note(
            "Öine liidese töö katkes kolmapäeval ühe arve vigase viitenumbri tõttu; parandasin "
            "arve STAR-is ja käivitasin liidese uuesti.",
            by=SPECIALIST,
        ),
        reply(
            "Tere!\n\nÖine liides katkes ühe vigase arve tõttu; STAR-i spetsialist parandas "
            "arve ja liides käivitati uuesti. Palun kontrollige homme hommikul, kas arved on "
            "SKAIS2 maksete vaates.\n\nRakendustugi"
        ),
        status=OPEN,
        tags=("liides",),
    ),
    # --- open, being worked ------------------------------------------------------------------
    case(
        "benefits-slow",
        "unit:HYV-HT",
        EMAIL,
        "SKAIS2",
        _HYV,
        MALFUNCTION,
        MEDIUM,
        LOW,
        "SKAIS2 hüvitiste vaade on pärastlõunal väga aeglane",
        "Tere!\n\nIga päev pärast kella kahte võtab hüvitiste taotluse avamine üle minuti. "
        "Hommikul on kõik korras.",
        assign(),
        reply(
            "Tere!\n\nKogume aeglustuse kohta andmeid. Palun märkige järgmisel korral kellaaeg ja "
            "taotluse number, mille avamine oli aeglane.\n\nRakendustugi"
        ),
        write("Täna kell 14.20 ja 14.45, taotlused on manuses."),
        note("Pärastlõunal jookseb maksefailide eelkontroll samal andmebaasil; küsida RIT-ilt."),
        spend(20),
        status=OPEN,
    ),
    case(
        "work-ability-draft",
        "unit:PTH-TT",
        PHONE,
        "SKAIS2",
        "töövõime hindamine",
        MALFUNCTION,
        MEDIUM,
        MEDIUM,
        "Töövõime otsuse eelnõu kaotab salvestamisel ekspertarvamuse teksti",
        "Helistas: otsuse eelnõu salvestamisel kaob ekspertarvamuse pikem tekst, alles jääb "
        "ainult esimene lõik.",
        assign(),
        reply(
            "Tere!\n\nKas tekst kleebiti Wordist? Palun proovige kleepida ilma vorminguta "
            "(Ctrl+Shift+V) ja andke teada, kas tekst jääb alles.\n\nRakendustugi"
        ),
        write("Helistas uuesti: ilma vorminguta jääb alles, aga iga kord nii teha on tülikas."),
        note("Tõenäoliselt lõikab väli Wordi peidetud vormingumärgid; arendajale edasi."),
        status=OPEN,
    ),
    case(
        "rehab-invoice-price",
        "head:REH-RT",
        API,
        "STAR",
        _SKA,
        QUESTION,
        LOW,
        MEDIUM,
        "Rehabilitatsiooniarve kinnitamisel viga „Summa ei vasta hinnakirjale“",
        "Ühe teenuseosutaja arve kinnitamisel tuleb „Summa ei vasta hinnakirjale“, kuigi hind "
        "on lepingu järgi õige.",
        reply(
            "Tere!\n\nSTAR-is kehtib selle teenuse jaoks veel eelmise aasta hinnakiri. Kas uus "
            "hinnakiri on lepingu lisana allkirjastatud?\n\nRakendustugi"
        ),
        write("Jah, lisa allkirjastati eelmisel kuul."),
        status=OPEN,
    ),
    case(
        "tax-data-missing",
        "unit:PEN-RT",
        EMAIL,
        "MTA",
        "",
        DATA,
        MEDIUM,
        MEDIUM,
        "Maksu- ja Tolliameti TSD andmed jäid registrisse laadimata",
        "Tere!\n\nEelmise kuu TSD andmed ei ole pensionikindlustuse registrisse jõudnud; "
        "kindlustusperioodid lõpevad üle-eelmise kuuga.",
        assign(),
        note("Laadimise logis: MTA vastus tühi, päringu periood vale (kuu nihkega)."),
        priority(HIGH, MEDIUM),
        reply(
            "Tere!\n\nLaadimine kasutas vale perioodi. Käivitame laadimise uuesti õige "
            "perioodiga täna õhtul; homme hommikul peaksid andmed registris olema.\n\n"
            "Rakendustugi"
        ),
        status=OPEN,
        tags=("X-tee", "andmeparandus"),
    ),
    case(
        "claims-schedule",
        "head:OIG-NT",
        PORTAL,
        "SKAIS2",
        _FIN,
        QUESTION,
        LOW,
        MEDIUM,
        "Tagasinõude maksegraafiku muutmine pärast osamakset",
        "Võlgnik tasus osamakse ja soovib graafikut pikendada. Kas graafikut saab muuta või tuleb "
        "teha uus?",
        reply(
            "Tere!\n\nGraafikut saab muuta nupuga „Muuda graafikut“, kui ükski makse ei ole "
            "hilinenud. Kas võlgnikul on hilinenud makseid?\n\nRakendustugi"
        ),
        status=OPEN,
    ),
    case(
        "victim-data-visible",
        "unit:OHV-OT",
        PHONE,
        "SKAIS2",
        "ohvriabi",
        ACCESS,
        MEDIUM,
        MEDIUM,
        "Kolleeg näeb vägivallaohvri andmeid, mida ta ei peaks nägema",
        "Helistas: kolleeg teisest talitusest nägi kliendiotsingus ohvriabi juhtumi andmeid. "
        "Kas tema roll on õige?",
        assign(),
        note(
            "Kolleegil on kliendiandmete vaataja roll, mis näitab kõiki mooduleid. Ohvriabi "
            "andmed peaksid olema piiratud; teavitada andmekaitsespetsialisti."
        ),
        reply(
            "Tere!\n\nAitäh teatamast. Kontrollime rolli sisu koos tooteomaniku ja "
            "andmekaitsespetsialistiga ning anname teada.\n\nRakendustugi"
        ),
        spend(30, "Rolli sisu analüüs"),
        status=OPEN,
        tags=("andmekaitse",),
    ),
    case(
        "id-card-certificate",
        "unit:PHO-NT",
        EMAIL,
        "SKAIS2",
        _GEN,
        ACCESS,
        MEDIUM,
        HIGH,
        "Sisselogimine ID-kaardiga: „Sertifikaat ei kehti“",
        "Tere!\n\nSKAIS2-sse ID-kaardiga sisselogimisel tuleb „Sertifikaat ei kehti“. Kaart on "
        "uus, DigiDoc töötab.",
        reply(
            "Tere!\n\nKas proovisite ka Smart-ID või Mobiil-ID-ga? Kui need töötavad, on viga "
            "kaardi sertifikaadi vahemälus – sulgege palun brauser täielikult ja proovige "
            "uuesti.\n\nRakendustugi"
        ),
        write("Smart-ID-ga töötab. Brauseri sulgemine ei aidanud."),
        note("TARA logis vana sertifikaadi seerianumber: brauseri sertifikaadivalik on meeles."),
        status=OPEN,
        tags=("sisselogimine",),
    ),
    case(
        "health-insurance-query",
        "head:PTH",
        PORTAL,
        "TEK",
        "",
        MALFUNCTION,
        MEDIUM,
        MEDIUM,
        "Tervisekassa töövõimetuslehtede päring annab tühja vastuse",
        "Töövõimetuslehtede päring tagastab tühja vastuse ka isikutele, kellel on teadaolevalt "
        "lehti.",
        assign(),
        reply(
            "Tere!\n\nKontrollime päringut koos Tervisekassaga. Kas tühi vastus tuleb kõigi "
            "isikute kohta või ainult mõne?\n\nRakendustugi"
        ),
        status=OPEN,
    ),
    case(
        "star-account-locked",
        "ext:kohila",
        EMAIL,
        "STAR",
        _KOV,
        ACCESS,
        LOW,
        HIGH,
        "STAR-i konto lukus pärast mitut valet sisestust",
        "Tere!\n\nMinu STAR-i konto lukustus, sest sisestasin parooli mitu korda valesti. "
        "Palun avage see.\n\nMargit Allik\nKohila Vallavalitsus",
        reply(template="star_password"),
        status=OPEN,
        tags=("parool",),
    ),
    case(
        "star-account-locked-phone",
        "ext:kohila",
        PHONE,
        "STAR",
        _KOV,
        ACCESS,
        LOW,
        HIGH,
        "Helistas: STAR-i konto lukus",
        "Helistas sama asja pärast, mida kirjutas hommikul e-postiga: STAR-i konto on lukus.",
        duplicate_of("star-account-locked"),
        status=RESOLVED,
    ),
    # --- new ---------------------------------------------------------------------------------
    case(
        "payment-file-breaks",
        "unit:FIN-VT",
        PHONE,
        "SKAIS2",
        _FIN,
        MALFUNCTION,
        HIGH,
        HIGH,
        "Maksefaili koostamine katkeb – homne pensionide maksepäev ohus",
        "Helistas: pensionide maksefaili koostamine katkeb 80% juures veaga „Aegumine“. Fail "
        "tuleb täna pangale saata, homme on maksepäev.",
        assign(),
        status=NEW,
        sla_used=18,  # due in a few working minutes: breaching soon
    ),
    case(
        "assistive-exceptions-stuck",
        "unit:REH-AT",
        EMAIL,
        "SKAIS2",
        "abivahendid",
        MALFUNCTION,
        HIGH,
        MEDIUM,
        "Abivahendite erandtaotlused ei liigu menetlusse",
        "Tere!\n\nPortaali kaudu esitatud abivahendite erandtaotlused jäävad olekusse "
        "„Esitatud“ ega jõua menetlejate töölauale. Ootel on juba üle kahekümne taotluse.",
        status=NEW,
        sla_used=2 * HOUR + 45,  # the first response is 45 working minutes overdue: breached
    ),
    case(
        "star-password-saue",
        "ext:saue",
        EMAIL,
        "STAR",
        _KOV,
        ACCESS,
        LOW,
        MEDIUM,
        "Parooli lähtestamine – STAR",
        "Tere!\n\nPalun lähtestage mu STAR-i parool, unustasin selle puhkuse ajal.\n\nPriit Laur\n"
        "Saue Vallavalitsus",
        status=NEW,
    ),
    case(
        "large-family-recalc",
        "unit:PHO-NT",
        EMAIL,
        "SKAIS2",
        _PHV,
        QUESTION,
        LOW,
        LOW,
        "Lasterikka pere toetus pärast lapse 19-aastaseks saamist",
        "Tere!\n\nKas SKAIS2 arvutab lasterikka pere toetuse automaatselt ümber, kui vanim laps "
        "saab 19, või tuleb seda teha käsitsi? Lapsevanem küsis.",
        status=NEW,
    ),
    case(
        "unemployment-rights-renewal",
        "head:PTH-TT",
        PORTAL,
        "TK",
        "",
        ACCESS,
        LOW,
        MEDIUM,
        "Töötukassa päringuõiguse pikendamine kolmele hindajale",
        "Kolme töövõime hindaja Töötukassa päringuõigus lõpeb järgmisel kuul. Palun "
        "pikendage; nimed on juurdepääsutaotlustes.",
        status=NEW,
    ),
    case(
        "children-house-star",
        "head:LAK-MT",
        API,
        "STAR",
        _SKA,
        QUESTION,
        LOW,
        LOW,
        "Lastemaja juhtumi registreerimine STAR-is",
        "Kuidas registreerida STAR-is lastemaja juhtum, kui omavalitsus ei ole veel juhtumit "
        "avanud?",
        status=NEW,
    ),
    case(
        "benefit-letter-address",
        "unit:HYV-HT",
        EMAIL,
        "SKAIS2",
        _HYV,
        MALFUNCTION,
        LOW,
        MEDIUM,
        "Sotsiaaltoetuse otsuse kirjas vale aadress",
        "Tere!\n\nPuuetega inimese sotsiaaltoetuse otsuse kirja päisesse tuleb kliendi vana "
        "aadress, kuigi kontaktandmetes on uus.",
        status=NEW,
    ),
    case(
        "eessi-sector-missing",
        "unit:PEN-VT",
        PHONE,
        "EESSI",
        "",
        ACCESS,
        LOW,
        MEDIUM,
        "EESSI-s ei näe pensionide sektori uusi BUC-e",
        "Helistas: pärast tööle naasmist ei näe ta EESSI-s pensionide sektori uusi BUC-e, "
        "vanad on näha.",
        status=NEW,
    ),
    case(
        "skais1-unfinished",
        "unit:PEN-MT",
        EMAIL,
        "SKAIS1",
        "",
        QUESTION,
        LOW,
        LOW,
        "Kuidas lõpetada SKAIS1-s pooleli jäänud menetlus?",
        "Tere!\n\nLeidsin SKAIS1-st 2019. aastast pooleli jäänud toitjakaotuspensioni "
        "menetluse. Kas selle saab seal lõpetada või tuleb SKAIS2-s uus alustada?",
        status=NEW,
    ),
    case(
        "test-environment-users",
        "login:owner",
        API,
        "SKAIS2",
        "administreerimine",
        QUESTION,
        LOW,
        LOW,
        "SKAIS2 testkeskkonna kasutajad vastuvõtutestiks",
        "Järgmise versiooni vastuvõtutestiks on vaja testkeskkonda viis kasutajat "
        "pensionide ja perehüvitiste rollidega.",
        status=NEW,
    ),
    case(
        "ledger-double-entries",
        "head:FIN-RT",
        PORTAL,
        "SKAIS2",
        _FIN,
        DATA,
        MEDIUM,
        LOW,
        "Raamatupidamiskanded on eelmise kuu eest topelt",
        "Finantskannete vaates on eelmise kuu väljamaksete kanded kaks korda. Kas "
        "raamatupidamisse liikusid ka topelt?",
        status=NEW,
    ),
    case(
        "leaver-accounts",
        "head:PER-PT",
        PORTAL,
        "",
        "",
        ACCESS,
        MEDIUM,
        MEDIUM,
        "Lahkunud töötaja kontod on veel avatud",
        "Töötaja lahkus eelmise kuu lõpus, aga tal on veel SKAIS2 ja STAR-i kontod. Palun "
        "sulgege need.",
        status=NEW,
    ),
    case(
        "eessi-password",
        "foreign:LV",
        EMAIL,
        "EESSI",
        "",
        ACCESS,
        LOW,
        MEDIUM,
        "EESSI password expired",
        "Hello,\n\nEESSI asks me to change my password, but the new password is not accepted "
        "(“does not meet the requirements”). What are the requirements?",
        status=NEW,
        language="en",
    ),
    case(
        "star-provider-admin",
        "ext:provider",
        EMAIL,
        "STAR",
        "teenuseosutaja",
        ACCESS,
        LOW,
        LOW,
        "Teenuseosutaja administraatori vahetus STAR-is",
        "Tere!\n\nMeie STAR-i administraator lahkus. Kuidas määrata uus administraator? "
        "Allkirjastatud taotlus on manuses.\n\nReet Kask\nTaastusravi OÜ",
        status=NEW,
    ),
    case(
        "victim-compensation-calc",
        "unit:OHV-OT",
        EMAIL,
        "SKAIS2",
        "ohvriabi",
        QUESTION,
        LOW,
        LOW,
        "Psühholoogilise abi kulude hüvitise arvutus",
        "Tere!\n\nKas SKAIS2 arvestab psühholoogilise abi kulude hüvitamisel piirmäära "
        "automaatselt või tuleb see käsitsi kontrollida?",
        status=NEW,
    ),
)
