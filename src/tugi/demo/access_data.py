"""Fixed data of the demo's access catalogue: systems, roles, what job duties justify, SoD rules.

Plain data, like `data`. The systems follow DOMAIN.md: SKAIS2 (the officials' application, in
modules), the old SKAIS1, STAR with its local-government, service-provider and agency roles, and
the external registers the desk creates accounts in. Rights to process pension-insurance register
data are a sensitivity of SKAIS roles (DOMAIN.md), not a system of their own. Role names and
descriptions are realistic, not copied from any real role list.

All systems use the manual connector: the SCIM and LDAP connectors do not exist yet, and a kind
that promised automatic provisioning would send the fulfilment queue the wrong way. The intended
kind is named in each system's description, so switching later is one `update_system` each.

Owners are named by reference, resolved against the organisation by `access_plan`:
``login:<username>`` (the demo user's person), ``head:<unit code>`` (the unit's head), or
``post:<position code>:<n>`` (the n-th active holder of the post, from 0).
"""

from dataclasses import dataclass

# Role.Sensitivity values, written out so that the plan needs no Django models.
NORMAL = "normal"
PERSONAL = "personal_data"
PENSION = "pension_insurance"
HEALTH = "special_category"
ADMIN = "administration"

INTERNAL, EXTERNAL = "internal", "external"
MANUAL = "manual"


@dataclass(frozen=True)
class SystemSpec:
    """A target system and how access to it is applied for."""

    code: str
    name: str
    name_en: str
    kind: str
    owner: str
    contact_channel: str
    application_requirements: str
    description: str


@dataclass(frozen=True)
class RoleSpec:
    """A role in one system and the rules for granting and delegating it."""

    system: str
    code: str
    name: str
    name_en: str
    module: str
    sensitivity: str
    description: str
    delegable: bool = False
    requires_end_date: bool = False
    max_duration_days: int | None = None
    suspend_during_absence: bool = False


@dataclass(frozen=True)
class EntitlementSpec:
    """Duty number `duty` (from 0) of the posts `post` justifies `roles` ("SYSTEM:CODE").

    `units` narrows it to posts in those units (a code matches itself and its sub-units): the
    head of a unit and a lead specialist need the roles of their own field.
    """

    post: str
    duty: int
    roles: tuple[str, ...]
    units: tuple[str, ...] = ()


@dataclass(frozen=True)
class SodRuleSpec:
    """Two roles ("SYSTEM:CODE") one person must not hold at the same time."""

    name: str
    description: str
    role_a: str
    role_b: str


SYSTEMS = (
    SystemSpec(
        "SKAIS2",
        "SKAIS2 – sotsiaalkaitse infosüsteem (ametnike rakendus)",
        "SKAIS2 – social protection information system (officials' application)",
        INTERNAL,
        "login:owner",
        "rakendustugi@sotsiaalkindlustusamet.example (taotlus Tugi kaudu)",
        "Nimi, isikukood, ametikoht ja struktuuriüksus, moodulid ja rollid, kehtivuse algus "
        "(ajutise õiguse korral ka lõpp), põhjendus viitega ametijuhendi tööülesandele; "
        "kooskõlastab talituse juhataja, tundlike rollide korral ka süsteemi omanik.",
        "Sotsiaalkaitse infosüsteemi uus rakendus: pensionid, hüvitised, perehüvitised, "
        "elatisabi, puude ja töövõime hindamine, abivahendid, rehabilitatsioon, ohvriabi, "
        "EL koordineerimine ning maksed. Riikliku pensionikindlustuse registri andmed on "
        "SKAIS-is; nende töötlemise õigus on rollide tundlikkus. Kavandatud konnektor: SCIM "
        "(TEHIK); kuni selle valmimiseni täidab rakendustugi taotlused käsitsi.",
    ),
    SystemSpec(
        "SKAIS1",
        "SKAIS1 – sotsiaalkaitse infosüsteemi vana rakendus",
        "SKAIS1 – social protection information system, legacy application",
        INTERNAL,
        "post:ARE-AT-TO:1",
        "rakendustugi@sotsiaalkindlustusamet.example (taotlus Tugi kaudu)",
        "Nimi, isikukood, ametikoht, roll, põhjendus (milliseid vanu menetlusi on vaja näha "
        "või lõpetada).",
        "Vana rakendus, kus on menetlused, mida pole SKAIS2-sse üle viidud, ja varasemate "
        "aastate andmed. Uusi kasutajaid lisatakse vaid erandkorras. Kavandatud konnektor: "
        "LDAP; seni käsitsi.",
    ),
    SystemSpec(
        "STAR",
        "STAR – sotsiaalteenuste ja -toetuste andmeregister",
        "STAR – social services and benefits register",
        INTERNAL,
        "login:owner",
        "star@sotsiaalkindlustusamet.example (STAR-i kasutajatugi)",
        "Nimi, isikukood, ametinimetus, rollid, e-post; digitaalselt allkirjastatud. "
        "Omavalitsuse või teenuseosutaja kasutaja lisab üldjuhul asutuse enda STAR-i "
        "administraator.",
        "Kohalike omavalitsuste sotsiaal- ja lastekaitsetöötajate, teenuseosutajate ja ameti "
        "osakondade register. Kavandatud konnektor: SCIM; seni käsitsi.",
    ),
    SystemSpec(
        "RR",
        "Rahvastikuregister",
        "Population Register",
        EXTERNAL,
        "head:ARE-AT",
        "Siseministeeriumi juurdepääsutaotluste süsteem; seejärel ameti kohalik administraator",
        "Nimi, isikukood, ametikoht, päringute eesmärk ja õiguslik alus, vajalikud "
        "andmekoosseisud, õiguse lõpp (kuni üks aasta). Taotlus esitatakse Siseministeeriumi "
        "juurdepääsutaotluste süsteemis.",
        "Isikute elukoha, perekonnaseisu ja surma andmed. Õigus antakse tähtajaliselt ja "
        "nimeliselt.",
    ),
    SystemSpec(
        "AR",
        "e-äriregister",
        "e-Business Register",
        EXTERNAL,
        "head:ARE-AT",
        "Registrite ja Infosüsteemide Keskus; ameti e-äriregistri administraator",
        "Nimi, isikukood, e-post, õiguse lõpp. Administraator lisab kasutaja isikukoodi järgi; "
        "õigus võib aeguda.",
        "Ettevõtete ja nende esindajate andmed (abivahendiettevõtted, teenuseosutajad, võlgnikud).",
    ),
    SystemSpec(
        "EESSI",
        "EESSI – sotsiaalkindlustusteabe elektrooniline vahetus",
        "EESSI – Electronic Exchange of Social Security Information",
        EXTERNAL,
        "head:PEN-VT",
        "EESSI riikliku rakenduse kasutajahaldus TEHIK-u kaudu",
        "Nimi, isikukood, e-post, sektor (pensionid, perehüvitised), roll.",
        "Euroopa Liidu liikmesriikide sotsiaalkindlustusasutuste andmevahetus (SED-dokumendid).",
    ),
    SystemSpec(
        "TK",
        "Töötukassa andmed (X-tee)",
        "Unemployment Insurance Fund data (X-Road)",
        EXTERNAL,
        "head:PTH-TT",
        "X-tee andmevahetusleping; Töötukassa andmekaitse kontaktisik",
        "Nimi, isikukood, ametikoht, päringute eesmärk viitega andmevahetuslepingule, õiguse lõpp.",
        "Töötuse, tööturuteenuste ja töövõimetoetuse andmed töövõime hindamiseks.",
    ),
    SystemSpec(
        "TEK",
        "Tervisekassa andmed (X-tee)",
        "Health Insurance Fund data (X-Road)",
        EXTERNAL,
        "head:PTH",
        "X-tee andmevahetusleping; Tervisekassa andmekaitse kontaktisik",
        "Nimi, isikukood, ametikoht, päringute eesmärk viitega andmevahetuslepingule, õiguse lõpp.",
        "Ravikindlustuse ja töövõimetuslehtede andmed puude ja töövõime hindamiseks.",
    ),
    SystemSpec(
        "MTA",
        "Maksu- ja Tolliameti andmed (X-tee)",
        "Tax and Customs Board data (X-Road)",
        EXTERNAL,
        "head:PEN-RT",
        "X-tee andmevahetusleping; Maksu- ja Tolliameti andmekaitse kontaktisik",
        "Nimi, isikukood, ametikoht, päringute eesmärk viitega andmevahetuslepingule, õiguse lõpp.",
        "Sotsiaalmaksu (TSD) ja tulude andmed pensionikindlustuse registri pidamiseks.",
    ),
)


_PEN = "pensionid"
_EL = "EL sotsiaalkindlustuse koordineerimine"
_FIN = "maksed ja finants"
_GEN = "üldine"
_ADM = "administreerimine"


def _external(
    system: str,
    code: str,
    name: str,
    name_en: str,
    sensitivity: str,
    description: str,
    *,
    suspend_during_absence: bool = False,
    days: int = 365,
) -> RoleSpec:
    """A role in an external register: granted to named users only until an end date."""
    return RoleSpec(
        system,
        code,
        name,
        name_en,
        "",
        sensitivity,
        description,
        requires_end_date=True,
        max_duration_days=days,
        suspend_during_absence=suspend_during_absence,
    )


# Short names keep the table below one role to two or three lines.
_r, _x = RoleSpec, _external

# fmt: off
ROLES = (
    # SKAIS2, pensions: processing pension-insurance register data; passes to substitutes.
    _r("SKAIS2", "PEN_VIEW", "Pensionitoimikute vaataja", "Pension file viewer", _PEN, PENSION,
       "Pensionitoimikute, määratud pensionide ja kindlustusstaaži vaatamine.",
       delegable=True),
    _r("SKAIS2", "PEN_PROC", "Pensionide menetleja", "Pension case handler", _PEN, PENSION,
       "Pensionitaotluste menetlemine ja otsuste eelnõude koostamine; pensionisaaja andmete "
       "muutmine.", delegable=True),
    _r("SKAIS2", "PEN_DECIDE", "Pensioniotsuste kinnitaja", "Pension decision maker", _PEN,
       PENSION, "Pensioni määramise, muutmise ja lõpetamise otsuste kinnitamine.",
       delegable=True, suspend_during_absence=True),
    _r("SKAIS2", "PEN_INTL", "Välispensionide menetleja", "International pension case handler",
       _PEN, PENSION, "Proportsionaalsete pensionide arvutamine ja välisriiki maksmine.",
       delegable=True),
    _r("SKAIS2", "PKR_VIEW", "Pensionikindlustuse registri vaataja",
       "Pension insurance register viewer", _PEN, PENSION,
       "Kindlustusperioodide, sotsiaalmaksu ja staaži andmete vaatamine registris.",
       delegable=True),
    _r("SKAIS2", "PKR_EDIT", "Pensionikindlustuse registri andmete muutja",
       "Pension insurance register data editor", _PEN, PENSION,
       "Kindlustusperioodide ja sotsiaalmaksu andmete kandmine ja parandamine.",
       delegable=True, suspend_during_absence=True),
    _r("SKAIS2", "PKR_DISCLOSE", "Registri väljavõtete väljastaja",
       "Register extract issuer", _PEN, PENSION,
       "Registri väljavõtete väljastamine õigustatud asutustele ja isikutele.",
       delegable=True),
    # SKAIS2, benefits and family benefits.
    _r("SKAIS2", "HYV_PROC", "Hüvitiste menetleja", "Benefits case handler", "hüvitised",
       PERSONAL, "Puuetega inimeste sotsiaaltoetuste ja riiklike hüvitiste menetlemine.",
       delegable=True),
    _r("SKAIS2", "HYV_DECIDE", "Hüvitiseotsuste kinnitaja", "Benefits decision maker",
       "hüvitised", PERSONAL, "Toetuse ja hüvitise määramise otsuste kinnitamine."),
    _r("SKAIS2", "PHV_VIEW", "Perehüvitiste vaataja", "Family benefits viewer",
       "perehüvitised", PERSONAL, "Perehüvitiste taotluste ja väljamaksete vaatamine."),
    _r("SKAIS2", "PHV_PROC", "Perehüvitiste menetleja", "Family benefits case handler",
       "perehüvitised", PERSONAL,
       "Vanemahüvitise, lapsetoetuse ja lasterikka pere toetuse menetlemine.", delegable=True),
    _r("SKAIS2", "PHV_DECIDE", "Perehüvitiste otsuste kinnitaja",
       "Family benefits decision maker", "perehüvitised", PERSONAL,
       "Perehüvitiste erandlike otsuste ja tagasinõuete kinnitamine."),
    _r("SKAIS2", "EA_PROC", "Elatisabi menetleja", "Maintenance support case handler",
       "elatisabi", PERSONAL, "Elatisabi taotluste menetlemine ja maksmise peatamine.",
       delegable=True),
    _r("SKAIS2", "EA_CLAIM", "Elatisabi nõuete menetleja", "Maintenance support claims handler",
       "elatisabi", PERSONAL, "Võlgnikult sissenõutavate elatisabi nõuete edastamine."),
    # SKAIS2, assessments: health data.
    _r("SKAIS2", "PUUE_PROC", "Puude raskusastme tuvastamise menetleja",
       "Disability assessment case handler", "puude raskusastme tuvastamine", HEALTH,
       "Puude raskusastme taotluste menetlemine ja otsuste koostamine.",
       suspend_during_absence=True),
    _r("SKAIS2", "PUUE_EXPERT", "Puude ekspertiisi arst-ekspert",
       "Disability assessment medical expert", "puude raskusastme tuvastamine", HEALTH,
       "Terviseandmete vaatamine ja ekspertarvamuse koostamine.", suspend_during_absence=True),
    _r("SKAIS2", "TV_PROC", "Töövõime hindamise menetleja", "Work ability case handler",
       "töövõime hindamine", HEALTH, "Töövõime hindamise taotluste menetlemine.",
       suspend_during_absence=True),
    _r("SKAIS2", "TV_EXPERT", "Töövõime ekspertiisi arst-ekspert",
       "Work ability medical expert", "töövõime hindamine", HEALTH,
       "Terviseandmete vaatamine ja töövõime ekspertarvamuse koostamine.",
       suspend_during_absence=True),
    # SKAIS2, services.
    _r("SKAIS2", "AV_PROC", "Abivahendite menetleja", "Assistive devices case handler",
       "abivahendid", PERSONAL, "Isikliku abivahendi kaardi ja erandtaotluste menetlemine."),
    _r("SKAIS2", "AV_CONTRACTS", "Abivahendiettevõtete lepingute haldur",
       "Assistive device contracts manager", "abivahendid", NORMAL,
       "Abivahendiettevõtete lepingute, hinnakirjade ja tooteloetelu haldamine."),
    _r("SKAIS2", "REH_PROC", "Rehabilitatsiooni menetleja", "Rehabilitation case handler",
       "rehabilitatsioon", HEALTH,
       "Rehabilitatsiooniteenuse taotluste ja suunamisotsuste menetlemine."),
    _r("SKAIS2", "OA_PROC", "Ohvriabi juhtumite menetleja", "Victim support case handler",
       "ohvriabi", HEALTH, "Ohvriabi juhtumite, sh vägivallaohvrite andmete käsitlemine.",
       suspend_during_absence=True),
    _r("SKAIS2", "OA_COMP", "Ohvrihüvitiste menetleja", "Victim compensation handler",
       "ohvriabi", PERSONAL,
       "Vägivallaohvri hüvitise ja psühholoogilise abi kulude hüvitamise menetlemine."),
    _r("SKAIS2", "EU_COORD", "EL koordineerimise menetleja", "EU coordination case handler",
       _EL, PENSION,
       "Teiste liikmesriikide kindlustusperioodide ja pädevuse otsuste menetlemine.",
       delegable=True),
    # SKAIS2, payments and finance.
    _r("SKAIS2", "FIN_PAYFILE", "Maksefailide koostaja", "Payment file preparer", _FIN,
       PERSONAL, "Väljamaksete maksefailide koostamine ja kontrollimine."),
    _r("SKAIS2", "FIN_APPROVE", "Väljamaksete kinnitaja", "Payment approver", _FIN, PERSONAL,
       "Maksefailide kinnitamine ja pangale saatmine.", suspend_during_absence=True),
    _r("SKAIS2", "FIN_RETURNS", "Tagastatud maksete töötleja", "Returned payments handler",
       _FIN, PERSONAL, "Tagastatud maksete põhjuste selgitamine, kordamine ja peatamine."),
    _r("SKAIS2", "FIN_LEDGER", "Finantskannete vaataja", "Ledger viewer", _FIN, NORMAL,
       "Väljamaksete ja nõuete raamatupidamiskannete vaatamine."),
    _r("SKAIS2", "FIN_CLAIMS", "Tagasinõuete menetleja", "Recovery claims handler", _FIN,
       PERSONAL, "Enammaksete tagasinõuete, maksegraafikute ja sissenõudmise menetlemine."),
    # SKAIS2, general and administration.
    _r("SKAIS2", "CLIENT_VIEW", "Kliendiandmete vaataja", "Client data viewer", _GEN,
       PERSONAL, "Isiku andmete, taotluste ja otsuste vaatamine kõigis moodulites."),
    _r("SKAIS2", "STATS", "Aruandluse kasutaja", "Reporting user", _GEN, NORMAL,
       "Koondaruannete ja statistika vaatamine (isikustamata)."),
    _r("SKAIS2", "USER_ADMIN", "Kasutajate haldur", "User administrator", _ADM, ADMIN,
       "Kasutajakontode loomine, rollide andmine, peatamine ja lõpetamine.",
       suspend_during_absence=True),
    _r("SKAIS2", "USER_VIEW", "Kasutajate ja õiguste vaataja", "Users and rights viewer",
       _ADM, ADMIN, "Kasutajakontode ja rollide vaatamine inventuuriks."),
    _r("SKAIS2", "CLASSIFIERS", "Klassifikaatorite haldur", "Classifier administrator", _ADM,
       ADMIN, "Klassifikaatorite, tekstimallide ja rollide sisu haldamine."),
    _r("SKAIS2", "QUERY_LOG", "Päringulogi vaataja", "Query log viewer", _ADM, PERSONAL,
       "Isikuandmete päringute logi vaatamine kontrolliks."),
    # SKAIS1: few roles, the old application.
    _r("SKAIS1", "VIEW", "SKAIS1 andmete vaataja", "SKAIS1 viewer", "", PENSION,
       "Vanade menetluste ja varasemate aastate pensioniandmete vaatamine.", delegable=True),
    _r("SKAIS1", "PROC", "SKAIS1 menetleja", "SKAIS1 case handler", "", PERSONAL,
       "SKAIS2-sse üle viimata menetluste lõpetamine."),
    _r("SKAIS1", "ADMIN", "SKAIS1 administraator", "SKAIS1 administrator", "", ADMIN,
       "SKAIS1 kasutajate ja rollide haldamine."),
    # STAR: local governments, service providers, and the agency's own roles.
    _r("STAR", "KOV_ADMIN", "Administraator (kohalik omavalitsus)",
       "Administrator (local government)", "kohalik omavalitsus", ADMIN,
       "Omavalitsuse STAR-i kasutajate lisamine ja rollide andmine."),
    _r("STAR", "KOV_SOCIAL", "Sotsiaaltöötaja (kohalik omavalitsus)",
       "Social worker (local government)", "kohalik omavalitsus", PERSONAL,
       "Sotsiaal- ja lastekaitsejuhtumite, teenuste ja toetuste menetlemine."),
    _r("STAR", "KOV_BILLING", "Arveldaja (kohalik omavalitsus)",
       "Accountant (local government)", "kohalik omavalitsus", NORMAL,
       "Teenuste arvete ja toetuste väljamaksete arveldamine."),
    _r("STAR", "SP_ADMIN", "Administraator (teenuseosutaja)", "Administrator (service provider)",
       "teenuseosutaja", ADMIN, "Teenuseosutaja STAR-i kasutajate lisamine."),
    _r("STAR", "SP_REP", "Teenuseosutaja esindaja", "Service provider representative",
       "teenuseosutaja", PERSONAL, "Teenuse osutamise andmete ja arvete esitamine."),
    _r("STAR", "SKA_SUPPORT", "STAR-i kasutajatugi", "STAR user support",
       "Sotsiaalkindlustusamet", ADMIN,
       "Kasutajate lisamine allkirjastatud taotluse alusel, paroolide lähtestamine."),
    _r("STAR", "SKA_ADMIN", "STAR-i peaadministraator", "STAR main administrator",
       "Sotsiaalkindlustusamet", ADMIN,
       "Asutuste, administraatorite ja rollide sisu haldamine.", suspend_during_absence=True),
    _r("STAR", "SKA_VIEW", "STAR-i vaataja (amet)", "STAR viewer (agency)",
       "Sotsiaalkindlustusamet", PERSONAL, "Juhtumite ja teenuste andmete vaatamine."),
    _r("STAR", "SKA_CHILD", "Lastekaitse spetsialist (amet)",
       "Child protection specialist (agency)", "Sotsiaalkindlustusamet", PERSONAL,
       "Lastekaitsejuhtumite vaatamine ja omavalitsuste nõustamise kirjed."),
    _r("STAR", "SKA_REH_INVOICE", "Rehabilitatsiooniarvete kontrollija",
       "Rehabilitation invoice checker", "Sotsiaalkindlustusamet", PERSONAL,
       "Teenuseosutajate rehabilitatsiooniarvete kontrollimine ja kinnitamine."),
    # External registers: named users with an end date, at most a year unless said (owners' rule).
    _x("RR", "QUERY", "Isikuandmete päringud", "Personal data queries", PERSONAL,
       "Isiku elukoha, perekonnaseisu ja surma andmete päringud."),
    _x("RR", "QUERY_EXT", "Laiendatud päringud (aadressi- ja perekonnaseisuajalugu)",
       "Extended queries (address and civil status history)", PERSONAL,
       "Ajalooliste andmete päringud rahvusvaheliste juhtumite lahendamiseks.",
       suspend_during_absence=True),
    _x("AR", "QUERY", "Päringud (ettevõtted ja esindajad)",
       "Queries (companies and officers)", NORMAL,
       "Ettevõtete, esindajate ja majandusaasta aruannete päringud.", days=730),
    _r("EESSI", "CLERK_PEN", "Menetleja, pensionide sektor", "Case handler, pensions sector",
       "", PENSION, "Pensionide SED-dokumentide koostamine ja vastamine.", delegable=True),
    _r("EESSI", "CLERK_FAM", "Menetleja, perehüvitiste sektor",
       "Case handler, family benefits sector", "", PERSONAL,
       "Perehüvitiste SED-dokumentide koostamine ja vastamine."),
    _r("EESSI", "ADMIN", "Asutuse administraator", "Institution administrator", "", ADMIN,
       "Ameti EESSI kasutajate ja sektorite haldamine."),
    _x("TK", "QUERY", "Töötukassa andmete päring", "Unemployment fund data query",
       PERSONAL, "Töötuse ja tööturuteenuste andmete päring töövõime hindamiseks."),
    _x("TEK", "INSURANCE", "Ravikindlustuse andmete päring", "Health insurance data query",
       PERSONAL, "Ravikindlustuse kehtivuse päring."),
    _x("TEK", "SICK_LEAVE", "Töövõimetuslehtede päring", "Sick leave certificate query",
       HEALTH, "Töövõimetuslehtede ja diagnooside päring ekspertiisiks.",
       suspend_during_absence=True),
    _x("MTA", "SOCIAL_TAX", "Sotsiaalmaksu andmete päring (TSD)", "Social tax data query",
       PERSONAL, "Deklareeritud sotsiaalmaksu andmete päring registri pidamiseks."),
    _x("MTA", "INCOME", "Tulude päring", "Income data query", PERSONAL,
       "Isiku tulude päring toetuste ja nõuete menetlemiseks."),
)
# fmt: on


def _e(post: str, duty: int, *roles: str, units: tuple[str, ...] = ()) -> EntitlementSpec:
    return EntitlementSpec(post, duty, roles, units)


# What each post's duties justify. Duty numbers count from 0 in the order of data.POSTS.
ENTITLEMENTS = (
    # The agency's own posts.
    _e("PD", 0, "SKAIS2:STATS"),
    _e("PDA", 0, "SKAIS2:STATS"),
    _e("SA", 1, "SKAIS2:QUERY_LOG", "SKAIS2:STATS"),
    _e("AKS", 0, "SKAIS2:QUERY_LOG"),
    _e("AKS", 1, "SKAIS2:CLIENT_VIEW"),
    # Managers: figures for everyone, and the decisions of their own field for unit heads.
    _e("OJ", 0, "SKAIS2:STATS"),
    _e("TJ", 4, "SKAIS2:STATS"),
    _e("TJ", 0, "SKAIS2:PEN_VIEW", "SKAIS2:PEN_DECIDE", units=("PEN-MT",)),
    _e("TJ", 0, "SKAIS2:PEN_VIEW", "SKAIS2:PEN_INTL", units=("PEN-VT",)),
    _e("TJ", 0, "SKAIS2:PKR_VIEW", "SKAIS2:PKR_DISCLOSE", units=("PEN-RT",)),
    _e("TJ", 0, "SKAIS2:HYV_DECIDE", units=("HYV-HT",)),
    _e("TJ", 0, "SKAIS2:EA_PROC", units=("HYV-ET",)),
    _e("TJ", 0, "SKAIS2:PHV_DECIDE", units=("PHO-MT",)),
    _e("TJ", 0, "SKAIS2:PHV_VIEW", units=("PHO-NT",)),
    _e("TJ", 0, "SKAIS2:PUUE_PROC", units=("PTH-PT",)),
    _e("TJ", 0, "SKAIS2:TV_PROC", units=("PTH-TT",)),
    _e("TJ", 0, "SKAIS2:REH_PROC", units=("REH-RT",)),
    _e("TJ", 0, "SKAIS2:AV_PROC", units=("REH-AT",)),
    _e("TJ", 0, "SKAIS2:OA_PROC", units=("OHV-OT",)),
    _e("TJ", 0, "STAR:SKA_CHILD", units=("LAK-LT",)),
    _e("TJ", 0, "SKAIS2:FIN_LEDGER", units=("FIN-RT",)),
    _e("TJ", 0, "SKAIS2:FIN_APPROVE", units=("FIN-VT",)),
    _e("TJ", 0, "SKAIS2:FIN_CLAIMS", units=("OIG-NT",)),
    _e("JS", 0, "SKAIS2:PEN_PROC", "SKAIS2:PEN_DECIDE", "SKAIS2:PKR_VIEW", units=("PEN-MT",)),
    _e("JS", 0, "SKAIS2:PHV_PROC", "SKAIS2:PHV_DECIDE", "EESSI:CLERK_FAM", units=("PHO-MT",)),
    _e("JS", 1, "SKAIS1:VIEW"),
    # Development department: the desk runs the accounts, product owners the roles' content.
    _e("RTJ", 0, "SKAIS2:CLIENT_VIEW"),
    _e("RTJ", 1, "SKAIS2:USER_ADMIN", "STAR:SKA_ADMIN", "SKAIS1:ADMIN", "EESSI:ADMIN"),
    _e("RTS", 0, "SKAIS2:CLIENT_VIEW", "SKAIS1:VIEW", "STAR:SKA_SUPPORT"),
    _e("RTS", 1, "SKAIS2:USER_ADMIN"),
    _e("TO", 0, "SKAIS2:STATS"),
    _e("TO", 1, "SKAIS2:CLASSIFIERS"),
    _e("AA", 0, "SKAIS2:STATS"),
    _e("AN", 0, "SKAIS2:STATS"),
    _e("ANA", 0, "SKAIS2:STATS"),
    _e("ANA", 1, "SKAIS2:CLIENT_VIEW"),
    _e("ITS", 2, "SKAIS2:USER_VIEW", "SKAIS2:QUERY_LOG"),
    # Pensions.
    _e("PS", 0, "SKAIS2:PEN_PROC"),
    _e("PS", 1, "SKAIS2:PKR_VIEW"),
    _e("PS", 2, "SKAIS2:PEN_VIEW"),
    _e("PS", 3, "SKAIS2:CLIENT_VIEW"),
    _e("VPS", 0, "EESSI:CLERK_PEN", "SKAIS2:EU_COORD"),
    _e("VPS", 1, "SKAIS2:PEN_INTL", "SKAIS2:PKR_VIEW"),
    _e("VPS", 2, "RR:QUERY", "SKAIS1:PROC"),
    _e("RS", 0, "SKAIS2:PKR_EDIT", "MTA:SOCIAL_TAX"),
    _e("RS", 1, "SKAIS2:PKR_EDIT"),
    _e("RS", 2, "SKAIS2:PKR_DISCLOSE"),
    # Benefits, maintenance support, family benefits.
    _e("HS", 0, "SKAIS2:HYV_PROC"),
    _e("HS", 1, "SKAIS2:HYV_PROC"),
    _e("HS", 2, "SKAIS2:CLIENT_VIEW"),
    _e("EAS", 0, "SKAIS2:EA_PROC"),
    _e("EAS", 1, "SKAIS2:EA_PROC"),
    _e("EAS", 2, "RR:QUERY"),
    _e("EAS", 3, "SKAIS2:EA_CLAIM"),
    _e("PHS", 0, "SKAIS2:PHV_PROC"),
    _e("PHS", 1, "SKAIS2:PHV_PROC"),
    _e("PHS", 2, "SKAIS2:PHV_PROC"),
    _e("PHS", 3, "SKAIS2:PHV_VIEW"),
    _e("PHN", 0, "SKAIS2:PHV_VIEW"),
    _e("PHN", 1, "SKAIS2:PHV_VIEW"),
    # Disability and work-ability assessment.
    _e("AE", 0, "SKAIS2:PUUE_EXPERT", "TEK:SICK_LEAVE", units=("PTH-PT",)),
    _e("AE", 0, "SKAIS2:TV_EXPERT", "TEK:SICK_LEAVE", units=("PTH-TT",)),
    _e("HIS", 0, "SKAIS2:PUUE_PROC", "TEK:INSURANCE", units=("PTH-PT",)),
    _e("HIS", 2, "SKAIS2:PUUE_PROC", units=("PTH-PT",)),
    _e("HIS", 0, "SKAIS2:TV_PROC", "TK:QUERY", units=("PTH-TT",)),
    _e("HIS", 2, "SKAIS2:TV_PROC", units=("PTH-TT",)),
    # Rehabilitation, assistive devices, victim support, child protection.
    _e("RHS", 0, "SKAIS2:REH_PROC"),
    _e("RHS", 1, "STAR:SKA_REH_INVOICE"),
    _e("AVS", 0, "SKAIS2:AV_PROC"),
    _e("AVS", 1, "SKAIS2:AV_CONTRACTS", "AR:QUERY"),
    _e("AVS", 2, "SKAIS2:AV_PROC"),
    _e("OA", 0, "SKAIS2:OA_PROC"),
    _e("OA", 1, "SKAIS2:OA_COMP"),
    _e("OA", 2, "SKAIS2:OA_COMP"),
    _e("OA", 3, "STAR:SKA_VIEW"),
    _e("LKS", 0, "STAR:SKA_CHILD", "RR:QUERY", "RR:QUERY_EXT"),
    _e("LKS", 1, "STAR:SKA_CHILD"),
    _e("LKS", 2, "STAR:SKA_CHILD"),
    _e("LMS", 0, "STAR:SKA_CHILD"),
    # Finance and legal.
    _e("RP", 0, "SKAIS2:FIN_LEDGER"),
    _e("RP", 2, "SKAIS2:FIN_LEDGER", "AR:QUERY"),
    _e("VMS", 0, "SKAIS2:FIN_PAYFILE"),
    _e("VMS", 1, "SKAIS2:FIN_RETURNS"),
    _e("JUR", 0, "SKAIS2:CLIENT_VIEW", "SKAIS2:PEN_VIEW"),
    _e("NS", 0, "SKAIS2:FIN_CLAIMS"),
    _e("NS", 1, "SKAIS2:FIN_CLAIMS", "MTA:INCOME"),
)

SOD_RULES = (
    SodRuleSpec(
        "Pensioniotsus ja väljamakse kinnitamine",
        "Kes kinnitab pensioniotsuse, ei kinnita ise selle väljamakset: nii ei saa üks inimene "
        "pensioni nii määrata kui välja maksta.",
        "SKAIS2:PEN_DECIDE",
        "SKAIS2:FIN_APPROVE",
    ),
    SodRuleSpec(
        "Maksefaili koostamine ja kinnitamine",
        "Maksefaili koostaja ei kinnita oma maksefaili (nelja silma põhimõte).",
        "SKAIS2:FIN_PAYFILE",
        "SKAIS2:FIN_APPROVE",
    ),
    SodRuleSpec(
        "Kasutajate haldus ja päringulogi kontroll",
        "Kes annab õigusi, ei kontrolli nende kasutamise logi: kontrollija peab olema sõltumatu.",
        "SKAIS2:USER_ADMIN",
        "SKAIS2:QUERY_LOG",
    ),
)


# --- deviations: what compliance is there to find ---------------------------------------------

# People who moved: a holder of `post` (a position code) keeps `role` on a duty of their old
# post `old_post`. (post, old post, old duty number, role)
MOVED = (
    ("PHO-MT-PHS", "PEN-MT-PS", 0, "SKAIS2:PEN_PROC"),
    ("ARE-AT-RTS", "FIN-VT-VMS", 0, "SKAIS2:FIN_PAYFILE"),
    ("HYV-HT-HS", "PEN-RT-RS", 0, "SKAIS2:PKR_EDIT"),
)
# Segregation of duties broken: a payments specialist kept the payment approver's role after
# standing in for the head of the payments unit, on the head's duty.
SOD_CONFLICT = ("FIN-VT-VMS", "FIN-VT-TJ", 0, "SKAIS2:FIN_APPROVE")
