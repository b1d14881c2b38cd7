"""What a complaint is about: category -> department, time limit, priority, names.

The time limit (SLA) counts working days and lies between 7 and 14 (docs/domain.md): 7 for
what cannot wait (drinking water, electricity, a road cut off, a fire, a crime not registered),
10 for services that hurt but have a workaround, 14 for paperwork (land records, pensions,
certificates) that needs file movement between offices. Priorities follow Andhra Pradesh's
PGRS: critical, high, general. Names are shown to citizens and officers in English and Hindi.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from core.reference.departments import department

Priority = Literal["critical", "high", "general"]
PRIORITIES: tuple[str, ...] = ("critical", "high", "general")
MIN_SLA_WORKING_DAYS = 7
MAX_SLA_WORKING_DAYS = 14


class UnknownCategory(ValueError):
    """A category code that is not in the taxonomy."""


@dataclass(frozen=True)
class Category:
    code: str  # snake_case, stable: it travels in events
    name_en: str
    name_hi: str
    department_code: str
    sla_working_days: int
    priority: Priority

    def __post_init__(self) -> None:
        # Checked at import: a bad row must fail the build, not route a complaint to nowhere.
        department(self.department_code)
        if not MIN_SLA_WORKING_DAYS <= self.sla_working_days <= MAX_SLA_WORKING_DAYS:
            raise ValueError(f"category {self.code}: SLA {self.sla_working_days} outside 7..14")
        if self.priority not in PRIORITIES:
            raise ValueError(f"category {self.code}: unknown priority {self.priority!r}")


C = Category
CATEGORIES: tuple[Category, ...] = (
    # Jal Shakti Vibhag
    C("drinking_water_supply", "Drinking water supply", "पेयजल आपूर्ति", "JSV", 7, "critical"),
    C("water_pipeline_leakage", "Leaking or broken water pipeline",
      "पानी की पाइपलाइन में रिसाव या टूट-फूट", "JSV", 7, "high"),
    C("sewerage_blockage", "Sewerage blocked or overflowing", "सीवरेज अवरुद्ध या ओवरफ्लो",
      "JSV", 7, "high"),
    C("irrigation_scheme", "Irrigation scheme or kuhl not working",
      "सिंचाई योजना या कूहल बंद", "JSV", 14, "general"),
    C("water_bill_dispute", "Water bill dispute", "पानी के बिल संबंधी विवाद", "JSV", 14,
      "general"),
    # HP State Electricity Board
    C("electricity_supply_interruption", "Electricity supply interruption",
      "बिजली आपूर्ति बाधित", "HPSEBL", 7, "critical"),
    C("transformer_or_line_fault", "Transformer or power line fault",
      "ट्रांसफार्मर या बिजली लाइन में खराबी", "HPSEBL", 7, "critical"),
    C("low_voltage", "Low voltage", "कम वोल्टेज", "HPSEBL", 10, "high"),
    C("electricity_bill_dispute", "Electricity bill dispute", "बिजली बिल संबंधी विवाद",
      "HPSEBL", 14, "general"),
    C("new_electricity_connection", "New electricity connection delayed",
      "नए बिजली कनेक्शन में देरी", "HPSEBL", 14, "general"),
    # Public Works
    C("road_repair", "Road repair", "सड़क की मरम्मत", "PWD", 14, "high"),
    C("landslide_road_blockage", "Road blocked by landslide or snow",
      "भूस्खलन या बर्फ से सड़क अवरुद्ध", "PWD", 7, "critical"),
    C("bridge_culvert_damage", "Damaged bridge or culvert", "क्षतिग्रस्त पुल या पुलिया", "PWD",
      10, "high"),
    # Revenue
    C("land_records_mutation", "Land records and mutation (intkal)", "भू-अभिलेख एवं इंतकाल",
      "REV", 14, "general"),
    C("land_demarcation", "Land demarcation (nishandehi)", "भूमि की निशानदेही", "REV", 14,
      "general"),
    C("revenue_certificate", "Certificate (income, caste, bonafide Himachali)",
      "प्रमाण पत्र (आय, जाति, हिमाचली मूल निवासी)", "REV", 10, "general"),
    C("disaster_relief", "Relief for disaster damage", "आपदा से हुए नुकसान की राहत राशि", "REV",
      10, "high"),
    # Health & Family Welfare
    C("hospital_services", "Hospital services", "अस्पताल सेवाएं", "HFW", 7, "high"),
    C("doctor_absence", "Doctor or staff absent at health centre",
      "स्वास्थ्य केंद्र में चिकित्सक या कर्मचारी अनुपस्थित", "HFW", 7, "high"),
    C("ambulance_service", "Ambulance service (108 / 102)", "एम्बुलेंस सेवा (108 / 102)", "HFW",
      7, "critical"),
    C("medicine_availability", "Medicines not available", "दवाइयां उपलब्ध नहीं", "HFW", 7,
      "high"),
    C("health_insurance_card", "Health insurance card (Himcare / Ayushman Bharat)",
      "स्वास्थ्य बीमा कार्ड (हिमकेयर / आयुष्मान भारत)", "HFW", 14, "general"),
    # Education
    C("school_teacher_absence", "Teacher absent or post vacant at school",
      "विद्यालय में शिक्षक अनुपस्थित या पद रिक्त", "EED", 10, "high"),
    C("mid_day_meal", "Mid-day meal", "मध्याह्न भोजन", "EED", 7, "high"),
    C("school_building", "School building or facilities", "विद्यालय भवन या सुविधाएं", "EED", 14,
      "general"),
    C("scholarship_delay", "Scholarship not received", "छात्रवृत्ति प्राप्त नहीं हुई", "HED", 14,
      "general"),
    # Rural Development and Panchayati Raj
    C("mgnrega_wage_payment", "MGNREGA wages not paid", "मनरेगा मजदूरी का भुगतान नहीं", "RD", 10,
      "high"),
    C("rural_housing_scheme", "Rural housing scheme (PMAY-G)",
      "ग्रामीण आवास योजना (प्रधानमंत्री आवास योजना)", "RD", 14, "general"),
    C("panchayat_works", "Panchayat development works", "पंचायत विकास कार्य", "PR", 14,
      "general"),
    C("family_register_entry", "Family register (Pariwar Register) entry",
      "परिवार रजिस्टर में प्रविष्टि", "PR", 14, "general"),
    # Police
    C("police_fir_not_registered", "FIR not registered", "एफ.आई.आर. दर्ज नहीं की गई", "POL", 7,
      "critical"),
    C("drug_peddling", "Drug peddling (chitta)", "नशा तस्करी (चिट्टा)", "POL", 7, "critical"),
    C("traffic_and_parking", "Traffic and parking", "यातायात एवं पार्किंग", "POL", 10,
      "general"),
    C("police_verification_delay", "Police verification delayed", "पुलिस सत्यापन में देरी",
      "POL", 14, "general"),
    # Food, Civil Supplies & Consumer Affairs
    C("ration_card", "Ration card", "राशन कार्ड", "FCS", 10, "general"),
    C("ration_depot_supply", "Ration not supplied at fair price shop",
      "सस्ते राशन के डिपो में राशन उपलब्ध नहीं", "FCS", 7, "high"),
    C("lpg_cylinder_supply", "LPG cylinder supply", "रसोई गैस सिलेंडर की आपूर्ति", "FCS", 7,
      "high"),
    # Urban Development (municipal bodies)
    C("street_light", "Street light not working", "स्ट्रीट लाइट खराब", "UD", 7, "general"),
    C("garbage_collection", "Garbage not collected", "कूड़ा नहीं उठाया गया", "UD", 7, "high"),
    C("stray_dogs", "Stray dogs", "आवारा कुत्ते", "UD", 10, "high"),
    # Forests, Agriculture, Horticulture, Animal Husbandry
    C("forest_fire", "Forest fire", "जंगल की आग", "FOR", 7, "critical"),
    C("monkey_wild_animal_menace", "Monkey or wild animal menace",
      "बंदरों या जंगली जानवरों का उत्पात", "FOR", 10, "high"),
    C("timber_distribution_rights", "Timber distribution (TD) rights",
      "इमारती लकड़ी (टी.डी.) अधिकार", "FOR", 14, "general"),
    C("crop_damage_compensation", "Compensation for crop damage", "फसल नुकसान का मुआवजा", "AGR",
      14, "general"),
    C("seed_fertiliser_supply", "Seed or fertiliser supply", "बीज या खाद की आपूर्ति", "AGR", 7,
      "high"),
    C("horticulture_subsidy", "Horticulture subsidy or scheme", "बागवानी अनुदान या योजना",
      "HORT", 14, "general"),
    C("veterinary_services", "Veterinary services", "पशु चिकित्सा सेवाएं", "AH", 7, "high"),
    C("stray_cattle", "Stray cattle", "बेसहारा पशु", "AH", 10, "general"),
    # Social Justice & Empowerment, Women & Child Development
    C("old_age_pension", "Old age pension", "वृद्धावस्था पेंशन", "SJE", 14, "general"),
    C("disability_pension", "Disability pension", "दिव्यांग पेंशन", "SJE", 14, "general"),
    C("widow_pension", "Widow pension", "विधवा पेंशन", "SJE", 14, "general"),
    C("anganwadi_services", "Anganwadi services", "आंगनबाड़ी सेवाएं", "WCD", 10, "general"),
    # Other field departments
    C("cooperative_society", "Cooperative society complaint", "सहकारी सभा संबंधी शिकायत",
      "COOP", 14, "general"),
    C("ayurvedic_health_centre", "Ayurvedic health centre services",
      "आयुर्वेदिक स्वास्थ्य केंद्र सेवाएं", "AYUSH", 10, "general"),
    C("lok_mitra_kendra", "Lok Mitra Kendra / online service", "लोक मित्र केंद्र / ऑनलाइन सेवा",
      "DTG", 10, "general"),
    # Departments with no block-level officer: these start at the tehsil.
    C("hrtc_bus_service", "HRTC bus service", "एच.आर.टी.सी. बस सेवा", "HRTC", 10, "general"),
    C("driving_licence_vehicle_registration", "Driving licence or vehicle registration",
      "ड्राइविंग लाइसेंस या वाहन पंजीकरण", "TRN", 14, "general"),
    C("wages_withheld_by_employer", "Wages withheld by employer",
      "नियोक्ता द्वारा वेतन का भुगतान नहीं", "LAB", 14, "general"),
    C("illicit_liquor", "Illicit liquor", "अवैध शराब", "EXC", 7, "high"),
    C("illegal_mining", "Illegal mining", "अवैध खनन", "MIN", 7, "high"),
    C("government_pension_delay", "Government pension payment delayed",
      "सरकारी पेंशन भुगतान में देरी", "TRES", 14, "general"),
    C("voter_id_card", "Voter ID card", "मतदाता पहचान पत्र", "ELEC", 14, "general"),
    C("unauthorised_construction", "Unauthorised construction", "अनधिकृत निर्माण", "TCP", 10,
      "general"),
    # District-only departments: these start at the district.
    C("ex_servicemen_welfare", "Ex-servicemen welfare", "पूर्व सैनिक कल्याण", "SW", 14,
      "general"),
    C("pollution", "Pollution (air, water, noise)", "प्रदूषण (वायु, जल, ध्वनि)", "EST", 10,
      "high"),
)
del C

_BY_CODE: MappingProxyType[str, Category] = MappingProxyType({c.code: c for c in CATEGORIES})


def category(code: str) -> Category:
    """The category with this code (surrounding spaces and case are forgiven)."""
    found = _BY_CODE.get(code.strip().lower())
    if found is None:
        raise UnknownCategory(f"unknown complaint category {code!r}")
    return found
