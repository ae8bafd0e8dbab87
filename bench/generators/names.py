"""Estonian words the generators draw from: names, unit names, titles, duties.

Lists run from the most to the least common, and the generators draw with falling weights, so that
the data has the skew real data has: many Tamms, few Õunapuus, one unit far bigger than the rest.
"""


def _words(text: str) -> list[str]:
    return text.split()


# Given names by sex. Diacritics on purpose: search must find "Jüri" from "juri".
MALE_FIRST_NAMES = _words(
    "Andres Jüri Aivar Margus Toomas Rein Tõnu Peeter Urmas Martin Mart Priit Jaan Indrek "
    "Aleksandr Sergei Tõnis Kristjan Siim Meelis Marko Raul Lauri Taavi Ülo Märt Kalle "
    "Rasmus Karl Oskar Hendrik Sander Janek Erki Dmitri Andrei Ain Enn Heino Villu Väino "
    "Mihkel Märten Jürgen Ülar Mäido Tõivo Vladimir Artur Kaspar"
)
FEMALE_FIRST_NAMES = _words(
    "Mari Tiina Kadri Anne Sirje Tiiu Ülle Kristiina Maria Anu Piret Kätlin Külli Merike "
    "Liis Triin Reet Helle Pille Marju Jelena Olga Svetlana Natalja Eha Maie Ene Mai "
    "Kerli Kertu Õie Õnne Elle Kärt Getter Grete Aet Ingrid Mirjam Küllike Häli Ljudmila "
    "Anneli Karin Signe Evelin Ülle-Mai Malle Katrin Tuuli"
)

# (masculine, feminine): Estonian surnames are the same for both, Russian ones take -a.
SURNAMES: list[tuple[str, str]] = [
    (name, name)
    for name in _words(
        "Tamm Saar Sepp Mägi Kask Kukk Rebane Ilves Pärn Koppel Lepik Kuusk Karu Kõiv Lõhmus "
        "Järv Põder Kallas Luik Raudsepp Vaher Kaasik Kivi Lepp Mets Ots Liiv Kuusik Laur "
        "Teder Toom Kull Oja Jõgi Hunt Org Mölder Sild Tamme Rätsep Parts Kruus Aavik Saks "
        "Väli Allik Nurk Puusepp Männik Kangur Põldma Tammik Tamberg Tammela Jänes Kägu "
        "Pähkel Sööt Õunapuu Šmidt Ülevain Käär Kõrvits Lõoke Põllu Mänd Väljaots Tõnisson"
    )
] + [
    (name, f"{name}a")
    for name in _words(
        "Ivanov Smirnov Vassiljev Petrov Kuznetsov Mihhailov Pavlov Semjonov Andrejev "
        "Aleksejev Fjodorov Jakovlev Nikolajev Sokolov Stepanov Orlov Volkov Kozlov Žukov "
        "Tšernov Šestakov"
    )
]

DEPARTMENTS = [
    ("Pensionide osakond", "Pensions Department"),
    ("Peretoetuste osakond", "Family Benefits Department"),
    ("Töövõime hindamise osakond", "Work Ability Assessment Department"),
    ("Puuetega inimeste toetuste osakond", "Disability Benefits Department"),
    ("Klienditeeninduse osakond", "Customer Service Department"),
    ("Hoolekande osakond", "Welfare Department"),
    ("Ohvriabi osakond", "Victim Support Department"),
    ("Lastekaitse osakond", "Child Protection Department"),
    ("Rahvusvahelise koostöö osakond", "International Cooperation Department"),
    ("Õigusosakond", "Legal Department"),
    ("Finantsosakond", "Finance Department"),
    ("Personaliosakond", "Human Resources Department"),
    ("Infotehnoloogia osakond", "Information Technology Department"),
    ("Rakendustoe osakond", "Application Support Department"),
    ("Andmekaitse ja infoturbe osakond", "Data Protection and Security Department"),
    ("Analüüsiosakond", "Analysis Department"),
    ("Kommunikatsiooniosakond", "Communication Department"),
    ("Sisekontrolli osakond", "Internal Audit Department"),
    ("Hankeosakond", "Procurement Department"),
    ("Dokumendihalduse osakond", "Records Management Department"),
    ("Erihoolekande osakond", "Special Welfare Department"),
    ("Välismaksete osakond", "Foreign Payments Department"),
    ("Järelevalve osakond", "Supervision Department"),
    ("Arendusosakond", "Development Department"),
]

TOWNS = _words(
    "Tallinna Tartu Pärnu Narva Jõhvi Viljandi Rakvere Kuressaare Haapsalu Paide Jõgeva "
    "Põlva Võru Valga Rapla Kärdla"
)
UNIT_FUNCTIONS = _words(
    "menetluse klienditeeninduse nõustamise järelevalve analüüsi arenduse hindamise "
    "maksete andmehalduse kvaliteedi õigusabi rakendustoe"
)
SECTOR_FUNCTIONS = _words("Taotluste Maksete Päringute Tagasinõuete Dokumendi Kontrolli Arhiivi")

HEAD_TITLES = {
    "agency": "Peadirektor",
    "department": "Osakonna juhataja",
    "unit": "Talituse juhataja",
    "sector": "Sektori juht",
}
TITLES = [
    "Peaspetsialist",
    "Juhtivspetsialist",
    "Spetsialist",
    "Nõunik",
    "Jurist",
    "Analüütik",
    "Klienditeenindaja",
    "Menetleja",
    "Arendusjuht",
    "Projektijuht",
    "IT-spetsialist",
    "Rakendustoe spetsialist",
    "Pensioniekspert",
    "Juhtiv konsultant",
    "Sekretär",
    "Andmekaitsespetsialist",
    "Vanemanalüütik",
    "Ekspert-hindaja",
]

# (duty, expected result). Later generators map duties to the roles they justify.
DUTIES = [
    ("Menetleb pensionitaotlusi SKAIS-is", "Taotlused on lahendatud seaduses ettenähtud ajaga"),
    ("Määrab ja maksab peretoetusi", "Toetused on määratud õigesti ja õigeaegselt"),
    ("Hindab töövõimet ekspertarstide otsuste alusel", "Otsused on põhjendatud ja tähtaegsed"),
    ("Nõustab kliente toetuste ja teenuste küsimustes", "Klient saab õige ja arusaadava vastuse"),
    ("Sisestab ja kontrollib andmeid STAR-is", "Registri andmed on õiged ja ajakohased"),
    ("Teeb päringuid rahvastikuregistrisse", "Päringud on tehtud ainult tööülesande tarbeks"),
    ("Teeb päringuid töötukassa andmekogusse", "Päringutel on märgitud eesmärk"),
    ("Menetleb tagasinõudeid", "Enammakstud summad on tagasi nõutud"),
    ("Koostab otsuste eelnõusid", "Eelnõud vastavad õigusaktidele"),
    ("Lahendab vaideid", "Vaided on lahendatud 30 päeva jooksul"),
    ("Koostab statistikat ja aruandeid", "Aruanded on esitatud tähtajaks"),
    (
        "Haldab kasutajate juurdepääsuõigusi",
        "Igal kasutajal on ainult ametijuhendi järgsed õigused",
    ),
    ("Lahendab kasutajate pöördumisi", "Pöördumised on lahendatud kokkulepitud ajaga"),
    ("Testib infosüsteemi uusi versioone", "Vead on leitud enne tootmisse minekut"),
    ("Koostab ja uuendab juhendeid", "Juhendid vastavad süsteemi tegelikule tööle"),
    ("Teeb koostööd välispartneritega", "Partnerite päringutele on vastatud tähtajaks"),
    ("Korraldab välismaksete menetlust", "Välismaksed on tehtud õigele saajale"),
    ("Kontrollib andmete kvaliteeti", "Vead on parandatud ja põhjused kõrvaldatud"),
    ("Osaleb arendusprojektides valdkonna eksperdina", "Nõuded on kirjeldatud ja kinnitatud"),
    ("Korraldab lastekaitse juhtumite menetlust", "Juhtumid on menetletud lapse huvides"),
    ("Nõustab ohvreid ja korraldab ohvriabiteenust", "Ohver saab abi viivitamata"),
    ("Vastutab isikuandmete töötlemise nõuetele vastavuse eest", "Rikkumised on ennetatud"),
    ("Korraldab riigihankeid", "Hanked on läbi viidud seaduse kohaselt"),
    ("Haldab dokumente dokumendihaldussüsteemis", "Dokumendid on registreeritud ja leitavad"),
    ("Planeerib ja jälgib eelarve täitmist", "Eelarve on täidetud plaanipäraselt"),
    ("Juhib üksuse tööd", "Üksuse eesmärgid on täidetud"),
    ("Kinnitab alluvate juurdepääsutaotlusi", "Taotlused on läbi vaadatud kolme tööpäeva jooksul"),
    ("Asendab puhkusel olevat kolleegi", "Menetlused ei peatu puhkuse ajal"),
]
PURPOSES = [
    "Ametikoha eesmärk on tagada toetuste õigeaegne ja õige määramine.",
    "Ametikoha eesmärk on tagada klientidele kvaliteetne teenindus.",
    "Ametikoha eesmärk on tagada infosüsteemide tõrgeteta töö.",
    "Ametikoha eesmärk on tagada õigusaktide järgimine ameti töös.",
    "Ametikoha eesmärk on juhtida üksust ja tagada selle eesmärkide täitmine.",
]
FOREIGN_ID_COUNTRIES = ["LV", "LT", "FI", "UA", "DE"]
EMAIL_DOMAIN = "sotsiaalkindlustusamet.ee"
