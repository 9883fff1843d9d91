"""The dashboard in French (issue 10): every page rendered for a browser that asks for French
shows the French chrome and none of its English; the catalogs are complete (no empty or fuzzy
entry, placeholders kept, every literal the templates and scripts translate is in them); the
JavaScript catalog serves the French strings.

The .mo files are compiled from locale/fr/LC_MESSAGES/*.po at setup (scripts/stack.sh
build_assets); rebuild them with `manage.py compilemessages` after editing a .po file.
"""

import html as html_lib
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from django.utils.formats import date_format

from accounts.choices import Role
from dashboard.templatetags.money import money, percent
from opsactions import services as ops_services
from tests.agents.helpers import DAKAR, place
from tests.dashboard.test_snapshots_support import (
    clean_overview_cache,  # noqa: F401
    hours_ago,
    insert_event_rows,
    refreshed,
)

LOCALE = Path(settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES"
FRENCH = {"HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.9,en;q=0.5"}

# The navigation and sidebar of a platform ops admin: (French shown, English gone).
CHROME = [
    ("Vue d'ensemble", "Overview"),
    ("Indicateurs", "Metrics"),
    ("Carte des agents", "Agent map"),
    ("Trésorerie float", "Float treasury"),
    ("Console ops", "Ops console"),
    ("Tableau de bord unifié", "Unified dashboard"),
    ("Changer le mot de passe", "Change password"),
    ("Documentation de l'API", "API documentation"),
    ("Se déconnecter", "Sign out"),
    ("Admin ops", "Ops admin"),
]


def visible_text(page_html):
    """What a reader sees (and what assistive technology reads): text and the labels in
    attributes, without scripts, styles and JSON data."""
    body = re.sub(r"<(script|style|template)\b.*?</\1>", " ", page_html, flags=re.S | re.I)
    attrs = " ".join(
        m.group(2) for m in re.finditer(r'\b(placeholder|title|aria-label|alt)="([^"]*)"', body)
    )
    text = re.sub(r"<[^>]+>", " ", body)
    # Collapse ASCII white space only: the no-break spaces of French figures stay.
    return re.sub(r"[ \t\r\n\f\v]+", " ", html_lib.unescape(text + " " + attrs)).strip()


def has_phrase(text, phrase):
    return re.search(r"(?<![\w'])" + re.escape(phrase) + r"(?![\w'])", text) is not None


def check(text, present, absent):
    missing = [p for p in present if not has_phrase(text, p)]
    left = [p for p in absent if has_phrase(text, p)]
    assert not missing, f"French missing: {missing}"
    assert not left, f"English left: {left}"


def french_client(user=None):
    client = Client(**FRENCH)
    if user is not None:
        client.force_login(user)
    return client


def get_text(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    assert response.headers["Content-Language"] == "fr"
    page_html = response.content.decode()
    assert '<html lang="fr"' in page_html
    return visible_text(page_html)


@pytest.fixture
def some_activity(db):
    """A merchant's succeeded and failed payments an hour ago, and two agents' floats."""
    insert_event_rows(
        hours_ago(1),
        merchant="m_1",
        gmv="125000",
        fees="1875",
        revenue="1875",
        attempts=10,
        success_count=8,
        failed_count=2,
    )
    place("a_1", *DAKAR, balance="750000")
    place("a_2", DAKAR[0] + 0.01, DAKAR[1], balance="20000")
    refreshed("merchant:m_2")  # the scheduled refresh (a read never computes a snapshot)


@pytest.fixture
def pending_action(db, pay_admin):
    return ops_services.action_create(
        actor=pay_admin,
        action_type="FREEZE_MERCHANT",
        target="merchant:m_1",
        params={"reason_code": "fraud_suspected"},
        reason="Chargebacks doubled overnight.",
    )


# ------------------------------------------------------------------ (a) pages


@pytest.mark.django_db
def test_sign_in_page_in_french():
    text = get_text(french_client(), "/login")
    check(
        text,
        ["Se connecter", "Nom d'utilisateur", "Mot de passe", "Tableau de bord unifié"],
        ["Sign in", "Username", "Password", "Unified dashboard"],
    )


@pytest.mark.usefixtures("clean_overview_cache", "some_activity")
def test_navigation_and_overview_in_french(ops_admin):
    text = get_text(french_client(ops_admin), "/overview")
    check(text, [f for f, _e in CHROME], [e for _f, e in CHROME])
    check(
        text,
        [
            "Période",
            "Périmètre",
            "Aujourd'hui",
            "24 heures",
            "7 jours",
            "Afficher",
            "Volume brut",
            "Revenus",
            "Frais",
            "Taux de réussite",
            "Taux de fraude",
            "Versements",
            "Remboursements",
            "Litiges",
            "Principaux pays",
            "Principaux marchands",
            "Par devise",
            "En direct",
            "Données au",
        ],
        [
            "Period",
            "Scope",
            "Today",
            "24 hours",
            "Show",
            "Gross volume",
            "Revenue",
            "Fees",
            "Success rate",
            "Fraud rate",
            "Payouts",
            "Refunds",
            "Disputes",
            "Top countries",
            "Top merchants",
            "By currency",
            "Live",
            "Data as of",
        ],
    )
    # French figures: a no-break space between thousands, a comma before decimals, the
    # currency code after the amount (top lists), a narrow no-break space before %.
    assert "125\xa0000" in text and "770\xa0000" in text
    assert "80,0\u202f%" in text  # 8 of 10 attempts succeeded
    assert not re.search(r"\b\d{1,3}(,\d{3})+\b", text), "English thousands separators"


@pytest.mark.usefixtures("clean_overview_cache", "some_activity")
def test_merchant_overview_empty_state_in_french(merchant_admin_m2):
    text = get_text(french_client(merchant_admin_m2), "/overview")
    check(
        text,
        ["Aucune activité sur cette période", "Voir les 30 derniers jours", "Admin marchand"],
        ["No activity in this period", "Look at the last 30 days", "Merchant admin"],
    )
    # A merchant sees neither the agent pages nor the ops console in its menu.
    assert not has_phrase(text, "Console ops") and not has_phrase(text, "Carte des agents")


@pytest.mark.usefixtures("clean_overview_cache", "some_activity")
def test_metrics_explorer_in_french(merchant_admin_m1):
    text = get_text(french_client(merchant_admin_m1), "/explore")
    check(
        text,
        [
            "Indicateur",
            "Granularité",
            "Par heure",
            "Par jour",
            "Devise",
            "Toutes sources",
            "Appliquer",
            "Réinitialiser",
            "Volume brut (GMV)",
            "Taux de réussite",
            "Plages rapides",
            "Télécharger le CSV",
            "Tableau de données",
            "Courbe",
            "Barres",
        ],
        [
            "Metric",
            "Granularity",
            "Hourly",
            "Daily",
            "Currency",
            "All sources",
            "Apply",
            "Reset",
            "Gross volume (GMV)",
            "Success rate",
            "Quick ranges",
            "Download CSV",
            "Data table",
            "Line",
            "Bars",
        ],
    )
    bad = get_text(french_client(merchant_admin_m1), "/explore?from=2026-13-01", status=400)
    check(
        bad,
        ["Certains champs sont à corriger", "Saisissez une date au format AAAA-MM-JJ."],
        ["Some fields need a fix", "Enter a date as YYYY-MM-DD."],
    )


@pytest.mark.django_db
def test_transactions_page_in_french(merchant_admin_m1):
    text = get_text(french_client(merchant_admin_m1), "/stream")
    check(
        text,
        [
            "Derniers événements",
            "Tous les types",
            "Toutes",
            "reçus",
            "affichés",
            "Événement",
            "Montant",
            "Statut",
            "En attente d'événements…",
        ],
        [
            "Newest events",
            "All types",
            "received",
            "shown",
            "Event",
            "Amount",
            "Status",
            "Waiting for events…",
        ],
    )


@pytest.mark.usefixtures("some_activity")
def test_agent_pages_in_french(ops_admin, agent_user):
    staff_map = get_text(french_client(ops_admin), "/map")
    check(
        staff_map,
        [
            "Agents autour d'un point",
            "Rayon",
            "Float bas uniquement",
            "Rechercher",
            "Légende",
            "Agent actif",
            "Agent gelé",
        ],
        [
            "Agents near a point",
            "Radius",
            "Low float only",
            "Search",
            "Legend",
            "Active agent",
            "Frozen agent",
        ],
    )
    floats = get_text(french_client(ops_admin), "/float")
    check(
        floats,
        [
            "Float par pays et par devise",
            "Sous le seuil",
            "Proche du seuil",
            "Historique",
            "Agents proches ou en dessous de leur seuil de float bas",
            "Dernière activité",
        ],
        [
            "Float per country and currency",
            "Below threshold",
            "Near threshold",
            "History",
            "Agents near or below their low-float threshold",
            "Last activity",
        ],
    )
    own = get_text(french_client(agent_user), "/float")
    check(
        own, ["Votre float", "Seuil de float bas", "Ventes 24\xa0h"], ["Your float", "Sales 24 h"]
    )


@pytest.mark.django_db
def test_ops_console_in_french(ops_admin, pending_action):
    client = french_client(ops_admin)
    inbox = get_text(client, "/ops")
    check(
        inbox,
        [
            "Nouvelle action",
            "En attente de votre approbation",
            "Toutes les actions",
            "Tous les statuts",
            "Tous les types",
            "Geler un marchand",
            "En attente d'approbation",
            "Risque",
            "Approbations",
            "Demandée par",
        ],
        [
            "New action",
            "Awaiting your approval",
            "All actions",
            "Any status",
            "Any type",
            "Freeze merchant",
            "Pending approval",
            "Risk",
            "Approvals",
            "Requested by",
        ],
    )
    new = get_text(client, "/ops/new")
    check(
        new,
        [
            "Types d'action",
            "Risque de base",
            "Suspendre les versements",
            "Contrepasser une transaction",
        ],
        ["Action types", "Base risk", "Pause payouts", "Reverse a transaction"],
    )
    # The parameter form built from the action type's serializer: labels and choices.
    hold = get_text(client, "/ops/new?type=SET_HOLD")
    check(
        hold,
        [
            "Type de retenue",
            "Pourcentage",
            "Jours",
            "Pourcentage des règlements",
            "Montant fixe",
            "Soumettre à approbation",
            "Motif de cette demande",
            "Cible",
        ],
        [
            "Kind",
            "Percent",
            "Days",
            "Percent of settlements",
            "Fixed amount",
            "Submit for approval",
            "Reason for this request",
            "Target",
        ],
    )
    freeze = get_text(client, "/ops/new?type=FREEZE_MERCHANT")
    check(
        freeze,
        ["Motif", "Suspicion de fraude", "Panne bancaire"],
        ["Reason code", "Fraud suspected"],
    )

    detail = get_text(client, f"/ops/{pending_action.pk}")
    check(
        detail,
        [
            "Demande",
            "Cible",
            "Quorum",
            "Paramètres",
            "Motif",
            "Piste d'audit",
            "Approuver",
            "Rejeter",
            "Demandée",
        ],
        ["Parameters", "Reason code", "Audit trail", "Approve", "Reject", "Requested"],
    )
    # Dates in French: "30 nov. 2026, 07:01", never "30 Nov 2026".
    with translation.override("fr"):
        created = date_format(pending_action.created_at, "j N Y, H:i")
    assert created in detail
    months = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
    assert not re.search(rf"\b\d{{1,2}} ({months})\b", detail), "English month abbreviation"


@pytest.mark.django_db
def test_password_and_error_pages_in_french(merchant_admin_m1):
    client = french_client(merchant_admin_m1)
    password = get_text(client, "/password")
    check(
        password,
        ["Changer le mot de passe", "Ancien mot de passe", "Nouveau mot de passe"],
        ["Old password", "New password"],
    )
    forbidden = get_text(client, "/ops", status=403)
    check(
        forbidden,
        [
            "Accès refusé",
            "Votre compte ne peut pas ouvrir cette page.",
            "Retour au tableau de bord",
        ],
        ["Not allowed", "Your account may not open this page.", "Back to the dashboard"],
    )
    missing = get_text(client, "/no-such-page", status=404)
    check(missing, ["Page introuvable"], ["Page not found"])


@pytest.mark.django_db
def test_english_stays_the_default(ops_admin):
    """The French catalog must not leak into an English browser's pages."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    client.force_login(ops_admin)
    text = visible_text(client.get("/ops").content.decode())
    check(
        text,
        ["Overview", "Metrics", "Ops console", "Sign out", "New action"],
        ["Vue d'ensemble", "Se déconnecter", "Nouvelle action"],
    )


def test_money_and_percent_in_french():
    with translation.override("fr"):
        assert money("75793775", "XOF") == "75\xa0793\xa0775\xa0XOF"
        assert money("5109.075", "EUR") == "5\xa0109,08\xa0EUR"
        assert percent(Decimal("0.9044")) == "90,4\u202f%"
    with translation.override("en"):
        assert money("75793775", "XOF") == "XOF 75,793,775"


# ------------------------------------------------------------------ (b) catalogs


def parse_po(path):
    """The entries of a .po file: dicts with msgctxt, msgid, msgid_plural, msgstr (list of
    forms) and flags. Enough of the format for the catalogs makemessages writes."""
    entries, current, field = [], None, None

    def unquote(text):
        return json.loads(text)  # a PO string is a C string; JSON reads the escapes we use

    for raw in Path(path).read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line:
            if current is not None:
                entries.append(current)
            current, field = None, None
            continue
        if current is None:
            current = {
                "flags": set(),
                "msgctxt": None,
                "msgid": "",
                "msgid_plural": None,
                "msgstr": {},
                "obsolete": False,
            }
        if line.startswith("#~"):
            current["obsolete"] = True
            continue
        if line.startswith("#,"):
            current["flags"].update(f.strip() for f in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        m = re.match(r"(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")$", line)
        if m:
            key, index, value = m.group(1), m.group(2), unquote(m.group(3))
            if key.startswith("msgstr"):
                field = ("msgstr", int(index or 0))
                current["msgstr"][field[1]] = value
            else:
                field = (key, None)
                current[key] = value
            continue
        assert line.startswith('"'), f"unexpected line in {path}: {raw!r}"
        if field[0] == "msgstr":
            current["msgstr"][field[1]] += unquote(line)
        else:
            current[field[0]] += unquote(line)
    header = [e for e in entries if e["msgid"] == "" and not e["msgctxt"]]
    assert len(header) == 1
    return header[0], [e for e in entries if e is not header[0] and not e["obsolete"]]


PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]|%[sdr]|\{\w*\}|%%")


def placeholders(text):
    return sorted(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("domain, at_least", [("django", 450), ("djangojs", 70)])
def test_catalog_is_complete(domain, at_least):
    header, entries = parse_po(LOCALE / f"{domain}.po")
    assert "fuzzy" not in header["flags"]
    assert "Language: fr" in header["msgstr"][0]
    assert "Plural-Forms: nplurals=2; plural=(n > 1);" in header["msgstr"][0]
    assert len(entries) >= at_least  # the pages' strings are all there, not a stub
    problems = []
    for e in entries:
        name = (e["msgctxt"] + " | " if e["msgctxt"] else "") + e["msgid"]
        if "fuzzy" in e["flags"]:
            problems.append(("fuzzy", name))
        forms = [e["msgstr"].get(i, "") for i in range(2 if e["msgid_plural"] else 1)]
        if not all(f.strip() for f in forms):
            problems.append(("untranslated", name))
            continue
        wanted = placeholders(e["msgid"])
        for form in forms:
            # A singular French form may say "1" in words; the plural keeps every placeholder.
            if form is forms[-1] and placeholders(form) != placeholders(
                e["msgid_plural"] or e["msgid"]
            ):
                problems.append(("placeholders", name, form))
            elif form is not forms[-1] and not set(placeholders(form)) <= set(wanted):
                problems.append(("placeholders", name, form))
    assert problems == []


def test_every_literal_the_pages_translate_is_in_the_catalogs():
    """A string added to a template or a script without running makemessages (and
    translating it) would show in English: catch it here."""
    _h, django_entries = parse_po(LOCALE / "django.po")
    _h, js_entries = parse_po(LOCALE / "djangojs.po")
    django_ids = {e["msgid"] for e in django_entries}
    js_ids = {e["msgid"] for e in js_entries}
    base = Path(settings.BASE_DIR)
    missing = []
    for path in sorted((base / "templates").rglob("*.html")):
        source = path.read_text(encoding="utf-8")
        for m in re.finditer(r"""\{%\s*translate\s+(["'])(.*?)\1(?:\s+as\s+\w+)?\s*%\}""", source):
            # makemessages doubles a bare % of a template string ("%% of threshold").
            if m.group(2) not in django_ids and m.group(2).replace("%", "%%") not in django_ids:
                missing.append((str(path.relative_to(base)), m.group(2)))
    for path in sorted((base / "static" / "js").glob("*.js")):
        source = re.sub(r"/\*.*?\*/", " ", path.read_text(encoding="utf-8"), flags=re.S)
        source = re.sub(r"(?m)(^|\s)//.*$", " ", source)  # comments mention Molam.t("...")
        for m in re.finditer(
            r"""(?<![\w.])(?:Molam\.t|M\.t|t|gettext)\(\s*"((?:[^"\\]|\\.)*)"\s*\)""", source
        ):
            if json.loads(f'"{m.group(1)}"') not in js_ids:
                missing.append((str(path.relative_to(base)), m.group(1)))
    assert missing == [], "run makemessages (see tests/test_i18n.py) and translate these"


# ------------------------------------------------------------------ (c) JavaScript catalog


def js_catalog(client):
    source = client.get("/jsi18n/").content.decode()
    match = re.search(r"const newcatalog = (\{.*?\});\n", source, re.S)
    catalog = json.loads(match.group(1)) if match else {}
    plural = re.search(r"const v = (.*?);\n", source)
    return catalog, plural.group(1) if plural else None


@pytest.mark.django_db
def test_javascript_catalog_serves_french():
    catalog, plural = js_catalog(Client(**FRENCH))
    assert catalog["Payment succeeded"] == "Paiement réussi"  # stream.js
    assert catalog["Low-float threshold"] == "Seuil de float bas"  # map.js
    assert catalog["Average per day"] == "Moyenne par jour"  # explorer.js
    assert catalog["%(n)s agent"] == ["%(n)s agent", "%(n)s agents"]
    assert plural is not None and "n > 1" in plural  # French: 0 and 1 are singular
    english, _plural = js_catalog(Client(HTTP_ACCEPT_LANGUAGE="en"))
    assert "Payment succeeded" not in english


@pytest.mark.django_db
def test_language_switcher_sets_french_for_the_session(ops_admin):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(ops_admin)
    response = client.post("/i18n/setlang/", {"language": "fr", "next": "/ops"})
    assert response.status_code == 302 and response["Location"] == "/ops"
    text = visible_text(client.get("/ops").content.decode())
    check(text, ["Console ops", "Nouvelle action"], ["Ops console", "New action"])


def test_role_labels_follow_the_language():
    with translation.override("fr"):
        assert str(Role.MERCHANT_ADMIN.label) == "Admin marchand"
        assert str(Role.AGENT.label) == "Agent"
    with translation.override("en"):
        assert str(Role.MERCHANT_ADMIN.label) == "Merchant admin"


@pytest.mark.django_db
def test_language_switcher_names_each_language_in_itself():
    page = french_client().get("/login").content.decode()
    options = re.findall(r'<option value="(\w+)"[^>]*>([^<]+)</option>', page)
    assert options == [("en", "English"), ("fr", "Français")]
    assert 'value="fr" selected' in page
