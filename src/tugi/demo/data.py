"""Fixed data of the demo organisation: the unit tree, the posts and their job descriptions, names.

Everything here is plain data. The structure follows the Social Insurance Board's shape (the agency,
departments, units) and its fields of work as described in DOMAIN.md; the units, posts and people
are fictional. Estonian names of units and posts are lower-case, as Estonian writes them.

Texts of job descriptions may use two placeholders, filled in per unit by `plan`:
`{unit_gen}` — the unit's name in the genitive ("pensionide määramise talituse"), and
`{goal}` — what the unit exists to secure, a noun phrase in the nominative.
"""

import datetime
from dataclasses import dataclass

from tugi.core.roles import AppRole

AGENCY_DOMAIN = "sotsiaalkindlustusamet.example"
DEMO_PASSWORD = "demo"  # noqa: S105 - the published password of the demo users
DEMO_SEED = 2026
# The plan is computed against this date, not today, so that it is the same whenever it is built:
# ages, employment dates and job-description dates all count from here.
REFERENCE_DATE = datetime.date(2026, 1, 1)


@dataclass(frozen=True)
class PostTemplate:
    """A kind of post (ametikoht) and the job description every such post gets."""

    code: str
    title: str
    title_en: str
    purpose: str
    duties: tuple[tuple[str, str], ...]  # (duty, expected result)


@dataclass(frozen=True)
class UnitSpec:
    """An org unit with its staff: (post code, number of holders), the head first; its sub-units."""

    code: str
    name: str
    name_en: str
    goal: str
    staff: tuple[tuple[str, int], ...]
    units: tuple["UnitSpec", ...] = ()


def _post(
    code: str, title: str, title_en: str, purpose: str, *duties: tuple[str, str]
) -> PostTemplate:
    """A post template; the duties are given as the remaining arguments."""
    return PostTemplate(code, title, title_en, purpose, duties)


# --- posts ------------------------------------------------------------------------------------

_POSTS = [
    # The agency's own posts.
    _post(
        "PD",
        "peadirektor",
        "Director General",
        "Juhtida Sotsiaalkindlustusameti tööd nii, et pensionid, hüvitised ja teenused jõuavad "
        "inimesteni õigel ajal ja õiges summas ning ameti eesmärgid on täidetud.",
        (
            "Ameti arengukava ja tööplaani kinnitamine ning nende täitmise jälgimine.",
            "Tööplaani täitmise ülevaade on esitatud Sotsiaalministeeriumile kord kvartalis.",
        ),
        (
            "Osakondade juhatajate töö suunamine ja nende eesmärkide kokkuleppimine.",
            "Igal osakonnal on kokkulepitud eesmärgid ja nende täitmist hinnatakse kord aastas.",
        ),
        (
            "Ameti esindamine ministeeriumis, Riigikogu komisjonides ja avalikkuse ees.",
            "Ameti seisukohad on edastatud tähtaegselt ja kooskõlas ministeeriumiga.",
        ),
        (
            "Ameti eelarve kinnitamine ja selle täitmise kontroll.",
            "Eelarve on täidetud kavandatud mahus ja kõrvalekalded on põhjendatud.",
        ),
    ),
    _post(
        "PDA",
        "peadirektori asetäitja",
        "Deputy Director General",
        "Juhtida peadirektori volitusel ameti teenuste arendamist ja asendada peadirektorit "
        "tema äraolekul.",
        (
            "Teenuste arendamise programmi juhtimine.",
            "Programmi projektid on ellu viidud ajakava ja eelarve piires.",
        ),
        (
            "Osakondadevahelise koostöö korraldamine teenuste muutmisel.",
            "Muudatused on kooskõlastatud kõigi puudutatud osakondadega enne rakendamist.",
        ),
        (
            "Peadirektori asendamine ja ameti esindamine peadirektori volitusel.",
            "Asendamise ajal on ameti otsused tehtud tähtaegselt.",
        ),
    ),
    _post(
        "SA",
        "siseaudiitor",
        "Internal Auditor",
        "Anda peadirektorile sõltumatu hinnang ameti sisekontrollisüsteemi, sealhulgas "
        "juurdepääsuõiguste halduse toimimise kohta.",
        (
            "Riskipõhise auditiplaani koostamine.",
            "Auditiplaan on kinnitatud iga aasta jaanuaris.",
        ),
        (
            "Auditite läbiviimine ja aruannete koostamine.",
            "Auditiaruanne on esitatud peadirektorile koos soovitustega.",
        ),
        (
            "Auditisoovituste täitmise jälgimine.",
            "Soovituste täitmise seis on üle vaadatud kord poolaastas.",
        ),
    ),
    _post(
        "AKS",
        "andmekaitsespetsialist",
        "Data Protection Officer",
        "Tagada, et amet töötleb isikuandmeid õiguspäraselt ning et iga isikuandmete päring on "
        "jälgitav ja põhjendatud.",
        (
            "Isikuandmete töötlemise logide korrapärane kontroll.",
            "Põhjenduseta päringud on tuvastatud ja nende kohta on algatatud menetlus.",
        ),
        (
            "Andmesubjektide taotlustele vastamise korraldamine.",
            "Taotlusele on vastatud ühe kuu jooksul.",
        ),
        (
            "Andmekaitserikkumiste käsitlemine ja Andmekaitse Inspektsiooni teavitamine.",
            "Rikkumisest on inspektsiooni teavitatud 72 tunni jooksul.",
        ),
        (
            "Töötajate nõustamine andmekaitse küsimustes ja mõjuhinnangute koostamine.",
            "Uue isikuandmete töötlemise kohta on enne alustamist tehtud mõjuhinnang.",
        ),
    ),
    # Managers of departments and units, and the lead specialist who deputises for a unit head.
    _post(
        "OJ",
        "osakonna juhataja",
        "Head of Department",
        "Juhtida {unit_gen} tööd nii, et oleks tagatud {goal}.",
        (
            "Osakonna eesmärkide ja tööplaani koostamine ning täitmise korraldamine.",
            "Tööplaan on täidetud; kõrvalekalletest on peadirektorit viivitamata teavitatud.",
        ),
        (
            "Talituste juhatajate töö juhendamine ja hindamine.",
            "Talituste eesmärgid on kokku lepitud ja arenguvestlused peetud kord aastas.",
        ),
        (
            "Valdkonna õigusaktide ja infosüsteemide muutmise ettepanekute tegemine.",
            "Ettepanekud on esitatud põhjendatult ja õigel ajal ministeeriumile ja "
            "arendusosakonnale.",
        ),
        (
            "Osakonna töötajate juurdepääsuõiguste taotluste kooskõlastamine.",
            "Taotlused on kooskõlastatud kahe tööpäeva jooksul ja õigused vastavad "
            "ametijuhenditele.",
        ),
    ),
    _post(
        "TJ",
        "talituse juhataja",
        "Head of Unit",
        "Juhtida {unit_gen} tööd nii, et oleks tagatud {goal}.",
        (
            "Talituse töö planeerimine ja tööjaotuse korraldamine.",
            "Menetlused on jaotatud ühtlaselt ja tähtajad on täidetud.",
        ),
        (
            "Talituse töötajate juhendamine, hindamine ja arenguvestluste pidamine.",
            "Iga töötajaga on arenguvestlus peetud kord aastas.",
        ),
        (
            "Talituse töötajate juurdepääsuõiguste taotluste kooskõlastamine ja õiguste "
            "korrapärane ülevaatus.",
            "Taotlused on kooskõlastatud kahe tööpäeva jooksul ja õiguste ülevaatus on tehtud "
            "kord poolaastas.",
        ),
        (
            "Puhkusegraafiku koostamine ja asendamiste korraldamine.",
            "Puhkusegraafik on kinnitatud 31. märtsiks ja igaks puudumiseks on asendaja määratud.",
        ),
        (
            "Talituse töö tulemustest aru andmine osakonna juhatajale.",
            "Ülevaade on esitatud kord kuus.",
        ),
    ),
    _post(
        "JS",
        "juhtivspetsialist",
        "Lead Specialist",
        "Lahendada {unit_gen} keerukamad menetlused, juhendada kolleege ja asendada talituse "
        "juhatajat.",
        (
            "Keerukamate ja vaidlustatud menetluste lahendamine.",
            "Menetlused on lahendatud tähtaegselt ja otsused on põhjendatud.",
        ),
        (
            "Rakendustoele eskaleeritud valdkonna pöördumistele sisulise vastuse andmine.",
            "Eskaleeritud pöördumisele on vastatud kahe tööpäeva jooksul.",
        ),
        (
            "Kolleegide juhendamine ja uute töötajate väljaõpe.",
            "Uus töötaja on väljaõppe läbinud kolme kuu jooksul.",
        ),
        (
            "Tööjuhendite ajakohastamine.",
            "Tööjuhendid vastavad kehtivatele õigusaktidele ja infosüsteemi versioonile.",
        ),
    ),
    # Development department.
    _post(
        "RTJ",
        "rakendustoe juhtivspetsialist",
        "Lead Application Support Specialist",
        "Korraldada rakendustoe tööd ja kasutajate juurdepääsuõiguste haldust nii, et pöördumised "
        "lahendatakse kokkulepitud aja jooksul ja igaühe õigused vastavad tema ametijuhendile.",
        (
            "Rakendustoe pöördumiste järjekorra ja teenustaseme jälgimine.",
            "Teenustaseme kokkulepe on täidetud vähemalt 95% pöördumistest.",
        ),
        (
            "Kasutajakontode ja rollide andmise, peatamise ja lõpetamise korraldamine SKAIS-is, "
            "STAR-is ja välistes registrites.",
            "Õigused on antud, peatatud ja lõpetatud tähtaegselt ning iga õiguse alus on "
            "dokumenteeritud.",
        ),
        (
            "Juurdepääsuõiguste korrapärase ülevaatuse korraldamine koos kooskõlastajatega.",
            "Ülevaatus on tehtud kord poolaastas ja põhjendamatud õigused on lõpetatud.",
        ),
        (
            "Koostöö TEHIK-u ja arendajatega vigade ja arendusvajaduste edastamisel.",
            "Viga on registreeritud partneri töölaual ja selle lahendamist on jälgitud kuni "
            "sulgemiseni.",
        ),
        (
            "Tugi kasutajate ja nende rollide haldamine.",
            "Tugi kasutajate rollid vastavad nende tööülesannetele.",
        ),
    ),
    _post(
        "RTS",
        "rakendustoe spetsialist",
        "Application Support Specialist",
        "Aidata ameti töötajaid SKAIS-i, STAR-i ja teiste rakenduste kasutamisel ning hallata "
        "nende kasutajakontosid ja rolle.",
        (
            "Kasutajate pöördumiste vastuvõtmine, lahendamine või suunamine "
            "valdkonnaspetsialistile või arendajale.",
            "Pöördumine on lahendatud või õigesse kohta suunatud teenustaseme kokkuleppe aja "
            "jooksul.",
        ),
        (
            "Kasutajakontode loomine ning rollide andmine, peatamine ja lõpetamine kooskõlastatud "
            "taotluse, ametijuhendi või asendamise korralduse alusel.",
            "Õigus kehtib täpselt ettenähtud ajavahemikus ja igal õigusel on alus.",
        ),
        (
            "Kasutajate teavitamine häiretest ja plaanilistest hooldustöödest.",
            "Plaanilisest katkestusest on teavitatud vähemalt 48 tundi ette ja häirest kohe.",
        ),
        (
            "Teadmusbaasi artiklite koostamine ja ajakohastamine.",
            "Korduva probleemi kohta on teadmusbaasis artikkel lahenduse või möödapääsuga.",
        ),
        (
            "Parendusettepanekute tegemine pöördumiste põhjal.",
            "Ettepanekud on esitatud tooteomanikule vähemalt kord kvartalis.",
        ),
    ),
    _post(
        "TO",
        "tooteomanik",
        "Product Owner",
        "Vastutada SKAIS2 moodulite arendamise eest nii, et infosüsteem toetab ameti menetlusi "
        "ja vastab õigusaktidele.",
        (
            "Arendustööde tellimine ja prioriseerimine.",
            "Arendustööde nimekiri on prioriseeritud ja kooskõlastatud ärivaldkonnaga.",
        ),
        (
            "Infosüsteemi rollide ja nende sisu kinnitamine.",
            "Igal rollil on kirjeldus ja omanik ning rolli sisu vastab ametijuhendite "
            "tööülesannetele.",
        ),
        (
            "Tundlike rollide juurdepääsutaotluste kooskõlastamine.",
            "Taotlus on kooskõlastatud kahe tööpäeva jooksul.",
        ),
        (
            "Uute versioonide vastuvõtutestimise korraldamine.",
            "Versioon on testitud ja kasutajaid on muudatustest teavitatud enne paigaldust.",
        ),
    ),
    _post(
        "AA",
        "ärianalüütik",
        "Business Analyst",
        "Analüüsida ameti menetlusi ja kirjeldada infosüsteemide arendusvajadused nii, et "
        "arendajad saavad need ühemõtteliselt ellu viia.",
        (
            "Ärinõuete kogumine ja analüüs.",
            "Analüüsidokument on koostatud ja tooteomanikuga kooskõlastatud.",
        ),
        (
            "Kasutuslugude ja vastuvõtukriteeriumide kirjeldamine.",
            "Igal arendustööl on testitavad vastuvõtukriteeriumid.",
        ),
        (
            "Vastuvõtutestimises osalemine.",
            "Leitud vead on registreeritud ja nende parandus on üle kontrollitud.",
        ),
    ),
    _post(
        "AN",
        "analüütik",
        "Analyst",
        "Koostada ameti juhtimiseks ja avalikkusele analüüse ja prognoose pensionide, hüvitiste "
        "ja teenuste kohta.",
        (
            "Pensionide, hüvitiste ja teenuste statistika koostamine.",
            "Kvartaliülevaade on avaldatud ameti veebilehel tähtaegselt.",
        ),
        (
            "Väljamaksete prognooside koostamine eelarve planeerimiseks.",
            "Prognoos on esitatud finantsosakonnale eelarve koostamise tähtajaks.",
        ),
        (
            "Teabenõuetele ja ministeeriumi päringutele andmete koostamine.",
            "Päringule on vastatud seaduses sätestatud tähtaja jooksul.",
        ),
    ),
    _post(
        "ANA",
        "andmeanalüütik",
        "Data Analyst",
        "Hallata ameti analüütilisi andmekogumeid ja tagada, et aruanded põhinevad õigetel ja "
        "ajakohastel andmetel.",
        (
            "Andmete väljavõtete ja aruandluse automatiseerimine.",
            "Korduvad aruanded valmivad ilma käsitööta.",
        ),
        (
            "Andmekvaliteedi kontroll.",
            "Andmevead on tuvastatud ja nende parandamiseks on registrile teada antud.",
        ),
        (
            "Isikuandmete pseudonüümimine analüüsi jaoks.",
            "Analüüsiks väljastatud andmetes ei ole isikukoode.",
        ),
    ),
    _post(
        "ITS",
        "infoturbespetsialist",
        "Information Security Specialist",
        "Tagada ameti infosüsteemide turvalisus E-ITS-i nõuete kohaselt.",
        (
            "E-ITS-i meetmete rakendamise jälgimine.",
            "Meetmete rakendamise seis on dokumenteeritud ja kord aastas auditeeritud.",
        ),
        (
            "Turvaintsidentide käsitlemine.",
            "Intsident on registreeritud ja lahendatud ning õppetunnid on kirja pandud.",
        ),
        (
            "Kasutajakontode inventuuri korraldamine (E-ITS ORP.4).",
            "Inventuur on tehtud kord poolaastas ja orbkontod on suletud.",
        ),
        (
            "Töötajate infoturbealase teadlikkuse koolitamine.",
            "Iga töötaja on läbinud infoturbe koolituse kord aastas.",
        ),
    ),
    _post(
        "ITA",
        "IT-administraator",
        "IT Administrator",
        "Hallata ameti töökohtade arvuteid, kontoritarkvara ja töötajate domeenikontosid.",
        (
            "Töötajate domeenikontode loomine ja sulgemine.",
            "Konto on loodud töösuhte esimeseks päevaks ja suletud töösuhte lõppemise päeval.",
        ),
        (
            "Töökohtade seadmete ja tarkvara haldus.",
            "Turvauuendused on paigaldatud kahe nädala jooksul nende ilmumisest.",
        ),
        (
            "Riist- ja kontoritarkvara pöördumiste lahendamine.",
            "Pöördumine on lahendatud teenustaseme kokkuleppe aja jooksul.",
        ),
    ),
    # Pensions.
    _post(
        "PS",
        "pensionispetsialist",
        "Pension Specialist",
        "Menetleda pensionitaotlusi ja määrata pensionid õigesti ja õigeaegselt.",
        (
            "Vanaduspensioni, töövõimetuspensioni ja toitjakaotuspensioni taotluste menetlemine "
            "SKAIS-is.",
            "Pension on määratud seaduses sätestatud tähtaja jooksul ja õiges summas.",
        ),
        (
            "Kindlustusperioodide ja staaži kontrollimine riiklikus pensionikindlustuse registris.",
            "Otsus põhineb kontrollitud kindlustusandmetel.",
        ),
        (
            "Klientide nõustamine pensioniõiguse küsimustes.",
            "Kliendile on vastatud viie tööpäeva jooksul.",
        ),
        (
            "Pensionisaaja andmete muudatuste menetlemine.",
            "Muudatus on kantud SKAIS-i enne järgmist maksepäeva.",
        ),
    ),
    _post(
        "VPS",
        "välispensionide spetsialist",
        "International Pensions Specialist",
        "Menetleda pensionitaotlusi, milles on kindlustusperioode teistes riikides, Euroopa Liidu "
        "sotsiaalkindlustuse koordineerimise määruste ja välislepingute alusel.",
        (
            "Teiste riikide pädevate asutustega andmete vahetamine EESSI kaudu.",
            "Teise riigi asutuse dokumendile on vastatud kokkulepitud tähtaja jooksul.",
        ),
        (
            "Proportsionaalse pensioni arvutamine ja määramine.",
            "Pension on arvutatud kõigi riikide kindlustusperioode arvestades.",
        ),
        (
            "Välisriigis elavatele pensionisaajatele pensioni maksmise korraldamine.",
            "Pension on makstud maksepäeval ja elusoleku kinnitus on kontrollitud kord aastas.",
        ),
    ),
    _post(
        "RS",
        "registrispetsialist",
        "Register Specialist",
        "Pidada riiklikku pensionikindlustuse registrit nii, et kindlustatud isikute andmed on "
        "õiged ja ajakohased.",
        (
            "Sotsiaalmaksu andmete ja kindlustusperioodide registrisse kandmine.",
            "Andmed on kantud registrisse kuu jooksul nende saamisest.",
        ),
        (
            "Registri andmete parandamine dokumentide alusel.",
            "Parandus on tehtud ja isikut on sellest teavitatud.",
        ),
        (
            "Registri andmete väljastamine õigustatud asutustele ja isikutele.",
            "Väljavõte on väljastatud ja väljastamine on logitud koos eesmärgiga.",
        ),
    ),
    # Benefits.
    _post(
        "HS",
        "hüvitisespetsialist",
        "Benefits Specialist",
        "Menetleda puuetega inimeste sotsiaaltoetuste ja teiste riiklike hüvitiste taotlusi ning "
        "teha nende kohta otsuseid.",
        (
            "Toetuste taotluste menetlemine ja otsuste tegemine SKAIS2-s.",
            "Otsus on tehtud seaduses sätestatud tähtaja jooksul.",
        ),
        (
            "Enammakstud summade tuvastamine ja tagasinõude algatamine.",
            "Enammaks on edastatud nõuete talitusele kümne tööpäeva jooksul selle tuvastamisest.",
        ),
        (
            "Klientide nõustamine toetuste taotlemisel.",
            "Kliendile on vastatud viie tööpäeva jooksul.",
        ),
    ),
    _post(
        "EAS",
        "elatisabi spetsialist",
        "Maintenance Support Specialist",
        "Menetleda elatisabi taotlusi, et laps saaks elatist ka siis, kui vanem seda ei maksa.",
        (
            "Elatisabi taotluste menetlemine ja otsuste tegemine SKAIS2-s.",
            "Otsus on tehtud kümne tööpäeva jooksul taotluse saamisest.",
        ),
        (
            "Elatisabi väljamaksete jälgimine ning maksmise peatamine ja lõpetamine.",
            "Maksmine on peatatud või lõpetatud hiljemalt järgmiseks maksepäevaks.",
        ),
        (
            "Andmete vahetamine kohtute ja kohtutäituritega.",
            "Täitemenetluse andmed on ajakohased iga otsuse tegemise ajal.",
        ),
        (
            "Elatisabi nõude edastamine võlgnikult sissenõudmiseks.",
            "Nõue on edastatud kohtutäiturile ühe kuu jooksul väljamaksest.",
        ),
    ),
    # Family benefits.
    _post(
        "PHS",
        "perehüvitiste spetsialist",
        "Family Benefits Specialist",
        "Määrata ja maksta perehüvitisi õigesti ja õigeaegselt.",
        (
            "Vanemahüvitise ja vanemapuhkuse taotluste menetlemine SKAIS2-s.",
            "Hüvitis on määratud ja esimene väljamakse tehtud järgmisel maksepäeval.",
        ),
        (
            "Lapsetoetuse ja lasterikka pere toetuse määramine ja muutmine.",
            "Toetus on määratud õiges summas ja muudatused on kantud enne maksepäeva.",
        ),
        (
            "Perehüvitiste enammaksete tuvastamine.",
            "Enammaks on edastatud nõuete talitusele kümne tööpäeva jooksul.",
        ),
        (
            "Klientide nõustamine e-posti ja telefoni teel.",
            "Kliendile on vastatud viie tööpäeva jooksul.",
        ),
    ),
    _post(
        "PHN",
        "perehüvitiste nõustaja",
        "Family Benefits Adviser",
        "Nõustada lapsevanemaid perehüvitiste taotlemisel ja iseteeninduse kasutamisel.",
        (
            "Telefonikõnedele ja e-kirjadele vastamine.",
            "Kõnedest on vastatud vähemalt 90% ja e-kirjale on vastatud viie tööpäeva jooksul.",
        ),
        (
            "Lapsevanemate abistamine iseteeninduses taotluse esitamisel.",
            "Taotlus on esitatud ilma korduva pöördumiseta.",
        ),
        (
            "Korduvate küsimuste põhjal veebilehe juhendite muutmise ettepanekute tegemine.",
            "Ettepanekud on esitatud kommunikatsioonile kord kuus.",
        ),
    ),
    # Disability and work-ability assessment.
    _post(
        "AE",
        "arst-ekspert",
        "Medical Expert",
        "Anda ekspertarvamus puude raskusastme ja töövõime kohta terviseandmete ja hindamise "
        "tulemuste põhjal.",
        (
            "Terviseinfosüsteemi andmete analüüs ekspertiisi käigus.",
            "Ekspertarvamus on koostatud ja põhjendatud.",
        ),
        (
            "Vajaduse korral isiku vastuvõtul hindamine.",
            "Vastuvõtt on toimunud ja selle tulemus on ekspertarvamuses kirjas.",
        ),
        (
            "Hindamisspetsialistide nõustamine meditsiinilistes küsimustes.",
            "Küsimusele on vastatud kahe tööpäeva jooksul.",
        ),
    ),
    _post(
        "HIS",
        "hindamisspetsialist",
        "Assessment Specialist",
        "Korraldada {unit_gen} menetlusi taotluse saamisest otsuseni nii, et oleks tagatud {goal}.",
        (
            "Taotluse ja lisadokumentide kontrollimine ning puuduvate andmete küsimine.",
            "Puuduvad andmed on küsitud viie tööpäeva jooksul taotluse saamisest.",
        ),
        (
            "Ekspertiisi korraldamine ja ekspertarvamuse edastamine.",
            "Ekspertiis on tellitud ja ekspertarvamus on menetluses kasutatud.",
        ),
        (
            "Otsuse koostamine ja isikule teatavaks tegemine.",
            "Otsus on tehtud seaduses sätestatud tähtaja jooksul.",
        ),
    ),
    # Rehabilitation and assistive devices.
    _post(
        "RHS",
        "rehabilitatsioonispetsialist",
        "Rehabilitation Specialist",
        "Suunata inimesi sotsiaalsele rehabilitatsioonile ja jälgida teenuse osutamist.",
        (
            "Rehabilitatsiooniteenuse taotluste menetlemine ja suunamisotsuste tegemine.",
            "Suunamisotsus on tehtud kümne tööpäeva jooksul taotluse saamisest.",
        ),
        (
            "Teenuseosutajate arvete kontrollimine STAR-is.",
            "Arve on kontrollitud ja makseks edastatud kümne tööpäeva jooksul.",
        ),
        (
            "Teenuseosutajate nõustamine ja teenuse kvaliteedi jälgimine.",
            "Iga teenuseosutaja tegevus on üle vaadatud kord aastas.",
        ),
    ),
    _post(
        "AVS",
        "abivahendite spetsialist",
        "Assistive Devices Specialist",
        "Tagada, et abivahendit vajavad inimesed saavad selle soodustingimustel õigel ajal.",
        (
            "Isikliku abivahendi kaardi taotluste menetlemine.",
            "Kaart on väljastatud kümne tööpäeva jooksul taotluse saamisest.",
        ),
        (
            "Abivahendiettevõtetega sõlmitud lepingute täitmise jälgimine.",
            "Lepingurikkumised on tuvastatud ja nende kohta on tehtud ettekirjutus.",
        ),
        (
            "Erandkorras abivahendi taotluste menetlemine.",
            "Otsus on tehtud ja põhjendatud 30 päeva jooksul.",
        ),
    ),
    # Victim support.
    _post(
        "OA",
        "ohvriabitöötaja",
        "Victim Support Worker",
        "Pakkuda kuriteo-, vägivalla- ja õnnetuse ohvritele ohvriabiteenust ning aidata neil "
        "taotleda riiklikku hüvitist.",
        (
            "Ohvri nõustamine ja toetamine.",
            "Ohvriga on ühendust võetud kahe tööpäeva jooksul politseilt teate saamisest.",
        ),
        (
            "Vägivallaohvri riikliku hüvitise taotluse menetlemine.",
            "Otsus on tehtud seaduses sätestatud tähtaja jooksul.",
        ),
        (
            "Psühholoogilise abi kulude hüvitamise korraldamine.",
            "Arve on hüvitatud 30 päeva jooksul selle saamisest.",
        ),
        (
            "Koostöö politsei, kohaliku omavalitsuse ja naiste tugikeskustega.",
            "Ohvrit puudutav teave on jõudnud abistajateni ilma viivituseta.",
        ),
    ),
    _post(
        "LEP",
        "lepitaja",
        "Mediator",
        "Viia läbi lepitusmenetlusi kriminaal- ja väärteoasjades prokuratuuri või kohtu "
        "suunamisel.",
        (
            "Lepitusmenetluse läbiviimine.",
            "Lepitus on lõpetatud ja kokkulepe koostatud ettenähtud tähtaja jooksul.",
        ),
        (
            "Lepituse tulemusest prokuratuurile või kohtule aru andmine.",
            "Aruanne on edastatud viie tööpäeva jooksul lepituse lõpust.",
        ),
        (
            "Kokkuleppe täitmise jälgimine.",
            "Kokkuleppe täitmata jätmisest on suunajat teavitatud.",
        ),
    ),
    # Child protection.
    _post(
        "LKS",
        "lastekaitse spetsialist",
        "Child Protection Specialist",
        "Toetada kohalike omavalitsuste lastekaitsetöötajaid keerulistes juhtumites ning "
        "korraldada rahvusvahelisi lastekaitsejuhtumeid.",
        (
            "Rahvusvaheliste lastekaitsejuhtumite menetlemine.",
            "Välisriigi pöördumisele on vastatud kokkulepitud tähtaja jooksul.",
        ),
        (
            "Kohalike omavalitsuste lastekaitsetöötajate nõustamine.",
            "Nõustamine on toimunud ja selle tulemus on STAR-is kirjas.",
        ),
        (
            "STAR-i lastekaitsejuhtumite andmekvaliteedi jälgimine.",
            "Andmevigadest on omavalitsusi teavitatud kord kvartalis.",
        ),
    ),
    _post(
        "LMS",
        "lastemaja spetsialist",
        "Children's House Specialist",
        "Aidata väärkohtlemist kogenud lapsi lastemaja meetodil koostöös politsei, prokuratuuri "
        "ja arstidega.",
        (
            "Lapse juhtumi võrgustikutöö korraldamine.",
            "Juhtumiplaan on koostatud ja kõik osapooled on kaasatud.",
        ),
        (
            "Lapse ülekuulamise ja arstliku läbivaatuse korraldamine lastemajas.",
            "Ülekuulamine on toimunud lapsesõbralikult ühe korraga.",
        ),
        (
            "Perede nõustamine ja edasise abi korraldamine.",
            "Pere on suunatud vajalikule teenusele.",
        ),
    ),
    # Finance.
    _post(
        "RP",
        "raamatupidaja",
        "Accountant",
        "Pidada ameti raamatupidamist riigi raamatupidamise üldeeskirja kohaselt.",
        (
            "Kulu- ja tuludokumentide kirjendamine.",
            "Dokumendid on kirjendatud kuu lõpuks.",
        ),
        (
            "Saldoandmike ja aruannete koostamine.",
            "Saldoandmik on esitatud Rahandusministeeriumile tähtaegselt.",
        ),
        (
            "Nõuete ja kohustuste arvestus.",
            "Nõuete saldod on võlgnikega võrreldud kord aastas.",
        ),
    ),
    _post(
        "VMS",
        "väljamaksete spetsialist",
        "Payments Specialist",
        "Korraldada pensionide, toetuste ja hüvitiste väljamaksed nii, et raha jõuab saajateni "
        "maksepäeval.",
        (
            "Maksefailide koostamine ja kontrollimine SKAIS-i finantsmoodulis.",
            "Väljamaksed on tehtud maksepäeval ja maksefail vastab kinnitatud otsustele.",
        ),
        (
            "Tagastatud maksete käsitlemine.",
            "Tagastatud makse põhjus on selgitatud ja makse korratud või peatatud viie tööpäeva "
            "jooksul.",
        ),
        (
            "Pankadega toimuva andmevahetuse jälgimine.",
            "Andmevahetuse häirest on rakendustuge teavitatud kohe.",
        ),
    ),
    # Human resources.
    _post(
        "PRS",
        "personalispetsialist",
        "HR Specialist",
        "Korraldada töötajate värbamist, töösuhete vormistamist ja personaliandmete pidamist.",
        (
            "Töölepingute ja ametisse nimetamise käskkirjade koostamine.",
            "Dokument on allkirjastatud enne töösuhte algust.",
        ),
        (
            "Personaliandmete ja puhkusegraafiku pidamine personaliinfosüsteemis.",
            "Puhkusegraafik on koostatud 31. märtsiks ja muudatused on kantud viivituseta.",
        ),
        (
            "Töösuhte alguse, muutumise ja lõpu teadete edastamine rakendustoele.",
            "Rakendustugi on teavitatud vähemalt viis tööpäeva enne töösuhte algust ja hiljemalt "
            "töösuhte lõppemise päeval.",
        ),
        (
            "Ametijuhendite haldamine.",
            "Igal ametikohal on kehtiv ja kinnitatud ametijuhend.",
        ),
    ),
    _post(
        "KS",
        "koolitusspetsialist",
        "Training Specialist",
        "Korraldada töötajate koolitust nii, et igaüks oskab oma töös vajalikke infosüsteeme ja "
        "õigusakte kasutada.",
        (
            "Koolitusplaani koostamine.",
            "Koolitusplaan on kinnitatud iga aasta veebruaris.",
        ),
        (
            "Uute töötajate sisseelamisprogrammi korraldamine.",
            "Uus töötaja on läbinud sisseelamisprogrammi esimese kuu jooksul.",
        ),
        (
            "Koolituste tagasiside kogumine ja analüüs.",
            "Tagasiside kokkuvõte on esitatud osakonnajuhatajatele kord poolaastas.",
        ),
    ),
    # Legal.
    _post(
        "JUR",
        "jurist",
        "Lawyer",
        "Tagada ameti tegevuse õiguspärasus ning esindada ametit vaide- ja kohtumenetlustes.",
        (
            "Vaiete lahendamine.",
            "Vaie on lahendatud 30 päeva jooksul selle saamisest.",
        ),
        (
            "Ameti esindamine halduskohtus.",
            "Menetlusdokumendid on esitatud kohtu määratud tähtajaks.",
        ),
        (
            "Lepingute ja käskkirjade eelnõude õiguslik kontroll.",
            "Eelnõu on kontrollitud viie tööpäeva jooksul.",
        ),
        (
            "Töötajate nõustamine haldusmenetluse ja andmekaitse küsimustes.",
            "Küsimusele on vastatud kolme tööpäeva jooksul.",
        ),
    ),
    _post(
        "NS",
        "nõuete spetsialist",
        "Claims Specialist",
        "Nõuda tagasi alusetult makstud pensionid, toetused ja hüvitised.",
        (
            "Tagasinõudeotsuste koostamine.",
            "Otsus on tehtud 30 päeva jooksul enammaksest teada saamisest.",
        ),
        (
            "Maksegraafikute kokkuleppimine võlgnikega.",
            "Maksegraafik on sõlmitud või nõue on sissenõudmisele edastatud.",
        ),
        (
            "Nõuete edastamine kohtutäiturile.",
            "Nõue on edastatud ühe kuu jooksul maksetähtaja möödumisest.",
        ),
    ),
]

POSTS: dict[str, PostTemplate] = {p.code: p for p in _POSTS}


# --- the unit tree ---------------------------------------------------------------------------


def _unit(code: str, name: str, name_en: str, goal: str, *staff: tuple[str, int]) -> UnitSpec:
    """A unit (talitus) with its staff."""
    return UnitSpec(code, name, name_en, goal, staff)


def _department(code: str, name: str, name_en: str, goal: str, *units: UnitSpec) -> UnitSpec:
    """A department (osakond): its head, and its units."""
    return UnitSpec(code, name, name_en, goal, (("OJ", 1),), units)


AGENCY = UnitSpec(
    "SKA",
    "Sotsiaalkindlustusamet",
    "Social Insurance Board",
    "pensionide, hüvitiste ja teenuste õigeaegne jõudmine inimesteni",
    (("PD", 1), ("PDA", 1), ("SA", 1), ("AKS", 1)),
    (
        _department(
            "ARE",
            "arendusosakond",
            "Development Department",
            "ameti infosüsteemide areng ning kasutajate tõhus tugi",
            _unit(
                "ARE-AT",
                "arendustalitus",
                "Development Unit",
                "kasutajate kiire abi ja juurdepääsuõiguste õigeaegne haldus",
                ("TJ", 1),
                ("RTJ", 1),
                ("RTS", 7),
                ("TO", 2),
                ("AA", 2),
            ),
            _unit(
                "ARE-ANT",
                "analüüsitalitus",
                "Analysis Unit",
                "ameti otsuste aluseks olevate analüüside õigsus ja õigeaegsus",
                ("TJ", 1),
                ("AN", 3),
                ("ANA", 2),
            ),
            _unit(
                "ARE-IT",
                "IT- ja infoturbe talitus",
                "IT and Information Security Unit",
                "ameti infosüsteemide ja töökohtade turvaline toimimine",
                ("TJ", 1),
                ("ITS", 2),
                ("ITA", 3),
            ),
        ),
        _department(
            "PEN",
            "pensioniosakond",
            "Pensions Department",
            "pensionide õige ja õigeaegne määramine ja maksmine",
            _unit(
                "PEN-MT",
                "pensionide määramise talitus",
                "Pension Awarding Unit",
                "pensionitaotluste õigeaegne menetlemine",
                ("TJ", 1),
                ("JS", 1),
                ("PS", 14),
            ),
            _unit(
                "PEN-VT",
                "välispensionide talitus",
                "International Pensions Unit",
                "välisriikidega seotud pensionijuhtumite õige lahendamine",
                ("TJ", 1),
                ("VPS", 7),
            ),
            _unit(
                "PEN-RT",
                "pensionikindlustuse registri talitus",
                "Pension Insurance Register Unit",
                "riikliku pensionikindlustuse registri andmete õigsus",
                ("TJ", 1),
                ("RS", 6),
            ),
        ),
        _department(
            "HYV",
            "hüvitiste osakond",
            "Benefits Department",
            "hüvitiste ja toetuste õige ja õigeaegne määramine",
            _unit(
                "HYV-HT",
                "hüvitiste talitus",
                "Benefits Unit",
                "sotsiaaltoetuste taotluste õigeaegne menetlemine",
                ("TJ", 1),
                ("HS", 8),
            ),
            _unit(
                "HYV-ET",
                "elatisabi talitus",
                "Maintenance Support Unit",
                "elatisabi õigeaegne määramine ja maksmine",
                ("TJ", 1),
                ("EAS", 5),
            ),
        ),
        _department(
            "PHO",
            "perehüvitiste osakond",
            "Family Benefits Department",
            "perehüvitiste õige ja õigeaegne määramine",
            _unit(
                "PHO-MT",
                "perehüvitiste määramise talitus",
                "Family Benefits Awarding Unit",
                "perehüvitiste taotluste õigeaegne menetlemine",
                ("TJ", 1),
                ("JS", 1),
                ("PHS", 13),
            ),
            _unit(
                "PHO-NT",
                "perehüvitiste nõustamise talitus",
                "Family Benefits Advisory Unit",
                "lapsevanemate kiire ja asjakohane nõustamine",
                ("TJ", 1),
                ("PHN", 9),
            ),
        ),
        _department(
            "PTH",
            "puude ja töövõime hindamise osakond",
            "Disability and Work Ability Assessment Department",
            "puude raskusastme ja töövõime ühtne ja õigeaegne hindamine",
            _unit(
                "PTH-PT",
                "puude tuvastamise talitus",
                "Disability Assessment Unit",
                "puude raskusastme tuvastamise taotluste õigeaegne menetlemine",
                ("TJ", 1),
                ("AE", 3),
                ("HIS", 7),
            ),
            _unit(
                "PTH-TT",
                "töövõime hindamise talitus",
                "Work Ability Assessment Unit",
                "töövõime hindamise taotluste õigeaegne menetlemine",
                ("TJ", 1),
                ("AE", 3),
                ("HIS", 6),
            ),
        ),
        _department(
            "REH",
            "rehabilitatsiooniosakond",
            "Rehabilitation Department",
            "rehabilitatsiooniteenuste ja abivahendite kättesaadavus",
            _unit(
                "REH-RT",
                "rehabilitatsiooniteenuste talitus",
                "Rehabilitation Services Unit",
                "rehabilitatsiooniteenuse õigeaegne korraldamine",
                ("TJ", 1),
                ("RHS", 7),
            ),
            _unit(
                "REH-AT",
                "abivahendite talitus",
                "Assistive Devices Unit",
                "abivahendite õigeaegne kättesaadavus",
                ("TJ", 1),
                ("AVS", 4),
            ),
        ),
        _department(
            "OHV",
            "ohvriabi osakond",
            "Victim Support Department",
            "ohvrite õigeaegne abistamine ja lepitusteenuse kättesaadavus",
            _unit(
                "OHV-OT",
                "ohvriabi talitus",
                "Victim Support Unit",
                "ohvriabiteenuse ja hüvitiste õigeaegne osutamine",
                ("TJ", 1),
                ("OA", 11),
            ),
            _unit(
                "OHV-LT",
                "lepitusteenuse talitus",
                "Mediation Service Unit",
                "lepitusmenetluste õigeaegne läbiviimine",
                ("TJ", 1),
                ("LEP", 3),
            ),
        ),
        _department(
            "LAK",
            "lastekaitse osakond",
            "Child Protection Department",
            "laste heaolu kaitsmine riigi tasandil",
            _unit(
                "LAK-LT",
                "lastekaitse talitus",
                "Child Protection Unit",
                "rahvusvaheliste ja keeruliste lastekaitsejuhtumite lahendamine",
                ("TJ", 1),
                ("LKS", 5),
            ),
            _unit(
                "LAK-MT",
                "lastemaja talitus",
                "Children's House Unit",
                "lastemaja teenuse kättesaadavus",
                ("TJ", 1),
                ("LMS", 4),
            ),
        ),
        _department(
            "FIN",
            "finantsosakond",
            "Finance Department",
            "ameti raha õige ja läbipaistev kasutamine",
            _unit(
                "FIN-RT",
                "raamatupidamise talitus",
                "Accounting Unit",
                "raamatupidamise õigsus ja aruannete õigeaegsus",
                ("TJ", 1),
                ("RP", 4),
            ),
            _unit(
                "FIN-VT",
                "väljamaksete talitus",
                "Payments Unit",
                "väljamaksete tegemine maksepäeval",
                ("TJ", 1),
                ("VMS", 4),
            ),
        ),
        _department(
            "PER",
            "personaliosakond",
            "Human Resources Department",
            "ameti vajadustele vastav ja arenev personal",
            _unit(
                "PER-PT",
                "personalitalitus",
                "Personnel Unit",
                "töösuhete korrektne vormistamine ja personaliandmete õigsus",
                ("TJ", 1),
                ("PRS", 4),
                ("KS", 1),
            ),
        ),
        _department(
            "OIG",
            "õigusosakond",
            "Legal Department",
            "ameti tegevuse õiguspärasus",
            _unit(
                "OIG-OT",
                "õigusteenuste talitus",
                "Legal Services Unit",
                "vaiete ja kohtuasjade õigeaegne lahendamine",
                ("TJ", 1),
                ("JUR", 6),
            ),
            _unit(
                "OIG-NT",
                "nõuete talitus",
                "Claims Unit",
                "alusetult makstud summade tagasinõudmine",
                ("TJ", 1),
                ("NS", 4),
            ),
        ),
    ),
)


# --- demo users --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginSpec:
    """A demo user: username, app role, and whose post it belongs to (unit code, post code)."""

    username: str
    role: AppRole
    unit: str
    post: str


# One user per app role; each is the first active holder of the named post.
LOGINS = (
    # The desk's lead runs Tugi's users, as the access-administration desk does.
    LoginSpec("admin", AppRole.ADMINISTRATOR, "ARE-AT", "RTJ"),
    LoginSpec("desk", AppRole.DESK_AGENT, "ARE-AT", "RTS"),
    LoginSpec("specialist", AppRole.DOMAIN_SPECIALIST, "PEN-MT", "JS"),
    LoginSpec("approver", AppRole.APPROVER, "PEN-MT", "TJ"),
    LoginSpec("owner", AppRole.SYSTEM_OWNER, "ARE-AT", "TO"),
    LoginSpec("auditor", AppRole.AUDITOR, "SKA", "AKS"),
    LoginSpec("requester", AppRole.REQUESTER, "PHO-MT", "PHS"),
    # HR keeps the vacation schedule and may order substitutions for anyone.
    LoginSpec("hr", AppRole.HR_SPECIALIST, "PER-PT", "PRS"),
)


# --- names -------------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    """A word list written as plain text, so that the formatter keeps it compact."""
    return tuple(text.split())


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """Pairs written as "male/female" words."""
    return tuple((m, f) for m, f in (word.split("/") for word in text.split()))


# Common Estonian first names; a share of Estonia's staff speak Russian, hence the second set.
FEMALE_FIRST_NAMES = _words(
    """
    Mari Kadri Kristi Tiina Anne Liis Maarja Triin Katrin Piret Eve Helen Kätlin Merike Ülle
    Sirje Tiiu Külli Siiri Kärt Reet Pille Marika Laura Grete Kertu Birgit Õie Ene Anu Mare
    Riina Evelin Kaja Heli Signe Margit Kersti Jaanika Mari-Liis Anneli Karin Tuuli Hille
    Mailis Ülvi
    """
)
MALE_FIRST_NAMES = _words(
    """
    Andres Toomas Jaan Peeter Mart Tõnu Jüri Rein Urmas Priit Margus Indrek Kristjan Martin
    Rasmus Siim Tanel Ott Marko Aivar Raivo Meelis Kalev Ülo Arvo Kaido Lauri Karl Sander Erki
    Tõnis Jürgen Mihkel Hannes Tarmo Madis Ants Enn Väino Aare
    """
)
RUSSIAN_FEMALE_FIRST_NAMES = _words(
    "Jelena Natalja Svetlana Olga Tatjana Irina Julia Anastassia Žanna"
)
RUSSIAN_MALE_FIRST_NAMES = _words("Sergei Aleksandr Dmitri Andrei Vladimir Igor Nikolai Maksim")
# Estonian surnames do not change with sex.
LAST_NAMES = _words(
    """
    Tamm Saar Sepp Mägi Kask Kukk Rebane Ilves Pärn Koppel Lepik Oja Kuusk Karu Raudsepp Vaher
    Kõiv Lõhmus Laur Jõgi Põder Müür Šmidt Luik Kallas Kruus Kaasik Lill Kuusik Teder Mets Kivi
    Ots Järv Parts Männik Vares Toom Põldma Sild Kütt Org Tõnisson Rätsep Jürgenson Aas Mölder
    Valk Nõmm Õunapuu Pihlak Kangur Hunt Kull Liiv Mänd Paju Roos Tuisk Šein
    """
)
# Russian surnames do: male form/female form, in Estonian transliteration.
RUSSIAN_LAST_NAMES = _pairs(
    """
    Ivanov/Ivanova Smirnov/Smirnova Kuznetsov/Kuznetsova Vassiljev/Vassiljeva Petrov/Petrova
    Popov/Popova Žuravljov/Žuravljova Sokolov/Sokolova Volkov/Volkova
    """
)
RUSSIAN_SPEAKING_SHARE = 0.15

# Staff without an Estonian personal code: (first name, last name, sex, country of the id).
FOREIGN_STAFF = (
    ("Līga", "Kalniņa", "F", "LV"),
    ("Mikko", "Virtanen", "M", "FI"),
)

# How many ordinary staff members are on long leave or have left (never heads or demo users).
ON_LEAVE_COUNT = 4
LEFT_COUNT = 5

# The dates job descriptions came into force, one per department: directives are issued per
# department when its work changes.
JOB_DESCRIPTION_DATES = (
    datetime.date(2024, 1, 2),
    datetime.date(2024, 9, 2),
    datetime.date(2025, 2, 3),
    datetime.date(2025, 6, 2),
)
