"""The built-in lexicons of the offline analyzer: English, Portuguese and Arabic (Modern
Standard with some Egyptian and Gulf colloquial).

Kept as TOML in the very shape of the settings (`[analysis.lexicons.en]` ...), so a language
can be copied into `settings.toml` and edited there. Data only: what the entries mean is
documented on `Lexicon`, how they are matched in `matching` and `reading`.
"""

from __future__ import annotations

import tomllib
from typing import Any, Final

DEFAULT_LEXICONS_TOML: Final = """
[en]
positive = ["good", "great", "excellent", "amazing", "awesome", "perfect*", "love", "loved",
  "lovely", "liked", "happy", "glad", "pleased", "satisfied", "wonderful", "fantastic", "nice",
  "helpful", "friendly", "polite", "fast", "recommend", "best", "delicious", "beautiful",
  "brilliant", "superb", "impressed", "professional", "on time", "well done", "easy", "smooth"]
negative = ["bad", "terrible", "awful", "horrible", "worst", "poor", "hate", "hated",
  "disappointed", "disappointing", "disappointment", "angry", "upset", "unhappy", "annoyed",
  "frustrated", "frustrating", "slow", "late", "delayed", "delay", "broken", "damaged", "wrong",
  "missing", "rude", "dirty", "useless", "unacceptable", "ridiculous", "problem", "problems",
  "issue", "issues", "complaint", "scam", "waste", "expensive", "never again", "faulty",
  "defective", "sucks"]
negations = ["not", "no", "never", "don't", "doesn't", "didn't", "isn't", "wasn't", "aren't",
  "weren't", "can't", "cannot", "couldn't", "won't", "wouldn't", "hasn't", "haven't", "hadn't",
  "shouldn't", "nothing", "neither", "nor", "without", "hardly", "barely", "nobody", "none"]
intensifiers = ["very", "really", "so", "extremely", "super", "too", "totally", "absolutely",
  "incredibly", "truly", "quite", "highly"]
neutral = ["good morning", "good afternoon", "good evening", "good night", "good day",
  "best regards", "kind regards"]
expected = ["arriv*", "came", "receiv*", "deliver*", "work", "works", "working", "worked",
  "answer*", "respond*", "reply", "replied", "show up", "showed up", "turned up", "fixed", "help*",
  "refunded"]

[en.categories]
appointment = ["appointment*", "book", "booking", "booked", "schedul*", "reschedul*",
  "reservation*", "reserve", "slot*", "consultation", "checkup", "check up"]
inquiry = ["how much", "price*", "cost*", "do you have", "do you sell", "is there", "are there",
  "available", "availability", "in stock", "question", "information", "info", "when", "where",
  "what", "which", "how", "can i", "could you", "would like to know", "wondering",
  "opening hours"]
complaint = ["complain*", "refund*", "money back", "chargeback", "broken", "damaged",
  "defective", "faulty", "wrong", "missing", "late", "delay*", "terrible", "awful", "horrible",
  "worst", "disappointed", "rude", "unacceptable", "scam", "never again"]
feedback = ["thank*", "thx", "great service", "service", "experience", "recommend*", "review",
  "feedback", "suggest*", "loved", "love it", "excellent", "amazing", "great job", "well done",
  "keep it up", "satisfied", "happy with"]

[en.tags]
urgent = ["urgent*", "asap", "as soon as possible", "emergency", "immediately", "right now",
  "right away", "hurry"]
appointment = ["appointment*", "book", "booking", "booked", "schedul*", "reschedul*",
  "reservation*", "reserve", "slot*"]
price_inquiry = ["price*", "pricing", "how much", "cost*", "quote", "fee", "fees", "discount*"]
delivery = ["deliver*", "arriv*", "ship*", "courier", "tracking", "track my", "parcel",
  "package", "dispatch*", "on the way"]
refund = ["refund*", "money back", "reimburs*", "chargeback"]
greeting = ["hi", "hello", "hey", "good morning", "good afternoon", "good evening", "greetings"]
cancellation = ["cancel*"]
payment = ["pay", "paid", "payment*", "invoice*", "receipt", "card", "bank transfer"]
thanks = ["thank*", "thx", "appreciate*", "grateful"]

[pt]
positive = ["bom", "boa", "ótimo", "ótima", "excelente", "maravilhoso", "maravilhosa",
  "perfeito", "perfeita", "adorei", "amei", "gostei", "gosto", "legal", "incrível",
  "satisfeito", "satisfeita", "feliz", "rápido", "rápida", "recomendo", "atencioso",
  "atenciosa", "educado", "educada", "parabéns", "lindo", "linda", "delicioso", "deliciosa",
  "top", "sensacional", "eficiente", "no prazo", "bem feito", "melhor", "tudo certo", "certinho"]
negative = ["ruim", "péssimo", "péssima", "horrível", "terrível", "pior", "odiei", "detestei",
  "decepcionado", "decepcionada", "decepção", "decepcionante", "insatisfeito", "insatisfeita",
  "lento", "lenta", "atrasad*", "atraso", "atrasou", "atrasar", "demora", "demorou", "quebrado",
  "quebrada", "danificado", "danificada", "errado", "errada", "defeito", "problema",
  "problemas", "absurdo", "chateado", "chateada", "irritado", "irritada", "caro", "lixo",
  "golpe", "nunca mais", "vergonha", "mal educado", "falta de respeito"]
negations = ["não", "nunca", "nem", "jamais", "nenhum", "nenhuma", "sem", "nada", "ninguém"]
intensifiers = ["muito", "muita", "super", "bem", "bastante", "demais", "tão", "extremamente",
  "totalmente", "realmente", "mega"]
neutral = ["bom dia", "boa tarde", "boa noite", "tudo bem", "tudo bom", "boa semana",
  "o mais rápido possível", "mais rápido possível"]
expected = ["cheg*", "receb*", "entreg*", "funcion*", "respond*", "resolv*", "apareceu",
  "veio", "atende", "atendeu", "atendem", "atenderam"]

[pt.categories]
appointment = ["agend*", "marcar", "marcação", "remarcar", "desmarcar", "consulta",
  "horário", "horários", "reserva*", "reservar", "visita"]
inquiry = ["quanto", "quanto custa", "preço*", "valor", "custa", "vocês têm", "tem disponível",
  "disponível", "disponibilidade", "dúvida", "informação", "informações", "qual", "quais",
  "quando", "onde", "como", "gostaria de saber", "queria saber", "estoque"]
complaint = ["reclamação", "reclamar", "reclamo", "reembolso", "estorno", "dinheiro de volta",
  "devolução", "quebrado", "quebrada", "danificado", "defeito", "errado", "errada", "atraso",
  "atrasad*", "atrasou", "péssimo", "péssima", "horrível", "absurdo", "nunca mais", "procon",
  "falta de respeito", "vergonha"]
feedback = ["obrigad*", "valeu", "atendimento", "serviço", "experiência", "recomendo",
  "parabéns", "sugestão", "elogio", "avaliação", "adorei", "amei", "excelente", "ótimo", "ótima"]

[pt.tags]
urgent = ["urgente", "urgência", "o quanto antes", "o mais rápido possível", "agora mesmo",
  "emergência"]
appointment = ["agend*", "marcar", "consulta", "reserva*", "horário", "remarcar", "desmarcar"]
price_inquiry = ["preço*", "quanto custa", "quanto é", "quanto fica", "valor", "orçamento",
  "custa", "custo"]
delivery = ["entreg*", "cheg*", "frete", "envio", "enviad*", "rastreio", "rastreamento",
  "rastrear", "correios", "transportadora"]
refund = ["reembolso", "estorno", "dinheiro de volta", "devolução", "devolver", "ressarcimento"]
greeting = ["olá", "oi", "bom dia", "boa tarde", "boa noite", "tudo bem"]
cancellation = ["cancel*"]
payment = ["pagamento", "pagar", "paguei", "pix", "boleto", "cartão", "fatura", "transferência"]
thanks = ["obrigad*", "valeu", "agradeço", "agradecid*", "grato", "grata"]

[ar]
positive = ["جيد", "جيدة", "جيدا", "ممتاز", "ممتازة", "رائع", "رائعة", "روعة", "جميل", "جميلة",
  "حلو", "حلوة", "كويس", "كويسة", "زين", "زينة", "تمام", "سعيد", "سعيدة", "مبسوط", "مبسوطة",
  "راضي", "راضية", "ممتن", "أحسن", "أفضل", "سريع", "سريعة", "عظيم", "مذهل", "يجنن", "عجبني",
  "عجبتني", "أحب", "حبيت", "مرتب", "محترم", "محترمين"]
negative = ["سيء", "سيئ", "سيئة", "سئ", "وحش", "وحشة", "زفت", "خايس", "مزعج", "متأخر",
  "متأخرة", "تأخير", "تأخر", "بطيء", "بطيئة", "مكسور", "مكسورة", "تالف", "تالفة", "خربان",
  "خربانة", "مشكلة", "مشاكل", "غلط", "خطأ", "غاضب", "زعلان", "زعلانة", "محبط", "أسوأ", "فاشل",
  "للأسف", "أكره", "غالي", "نصب", "احتيال", "مقرف", "ماوصلش"]
negations = ["لا", "ولا", "ليس", "وليس", "ليست", "لست", "لم", "ولم", "لن", "ولن", "ما", "وما",
  "مش", "ومش", "مو", "ومو", "مب", "ماهو", "ماهي", "بدون", "غير", "مافي", "مفيش", "مافيش"]
intensifiers = ["جدا", "كثير", "كتير", "مرة", "خالص", "أوي", "للغاية", "تماما", "بزاف", "وايد"]
neutral = ["صباح الخير", "مساء الخير", "صباح النور", "مساء النور"]
expected = ["وصل*", "يصل", "تصل", "استلم*", "اشتغل*", "يشتغل*", "شغال*", "يعمل", "تعمل", "رد",
  "ردوا", "يرد*", "جا", "جاء"]

[ar.categories]
appointment = ["موعد", "مواعيد", "حجز", "احجز", "نحجز", "تحجز", "حجوزات", "كشف", "استشارة",
  "زيارة"]
inquiry = ["كم", "بكم", "سعر", "أسعار", "هل", "متى", "وين", "فين", "أين", "كيف", "ايش", "إيه",
  "شو", "ماذا", "استفسار", "سؤال", "متوفر", "متوفرة", "موجود", "عندكم"]
complaint = ["شكوى", "أشتكي", "استرجاع", "استرداد", "ترجيع", "فلوسي", "مكسور", "مكسورة", "تالف",
  "خربان", "غلط", "خطأ", "تأخير", "متأخر", "متأخرة", "سيء", "زفت", "للأسف", "نصب", "احتيال",
  "مقرف"]
feedback = ["شكرا", "مشكور", "مشكورين", "يعطيك العافية", "تسلم", "خدمة", "تجربة", "أنصح",
  "تقييم", "ممتاز", "ممتازة", "رائع", "روعة", "اقتراح"]

[ar.tags]
urgent = ["عاجل", "ضروري", "بسرعة", "بأسرع وقت", "في أسرع وقت", "حالا", "فورا", "طارئ",
  "مستعجل"]
appointment = ["موعد", "مواعيد", "حجز", "احجز", "نحجز", "حجوزات"]
price_inquiry = ["كم سعر", "بكم", "سعر", "أسعار", "كم الثمن", "ثمن", "تكلفة", "كم يكلف"]
delivery = ["توصيل", "وصل*", "يصل", "تصل", "شحن", "مندوب", "طرد", "شحنة"]
refund = ["استرجاع", "استرداد", "ترجيع", "فلوسي", "رد المبلغ", "إرجاع"]
greeting = ["مرحبا", "أهلا", "اهلين", "هلا", "السلام عليكم", "صباح الخير", "مساء الخير",
  "صباح النور"]
cancellation = ["إلغاء", "ألغي", "كنسل"]
payment = ["دفع", "ادفع", "دفعت", "فاتورة", "بطاقة", "تحويل", "كاش"]
thanks = ["شكرا", "مشكور", "مشكورين", "يعطيك العافية", "تسلم", "ممنون", "مرسي"]
"""


def default_lexicon_data() -> dict[str, Any]:
    """The built-in lexicons as plain data, keyed by language, freshly parsed."""
    return tomllib.loads(DEFAULT_LEXICONS_TOML)
