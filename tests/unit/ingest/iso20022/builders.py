"""Small, schema-ordered builders for hand-made camt.054 and pain.002 test documents."""

from __future__ import annotations

from collections.abc import Iterable

CAMT08 = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
PAIN10 = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"


def _opt(tag: str, value: str | None) -> str:
    return "" if value is None else f"<{tag}>{value}</{tag}>"


def camt(
    *entries: str, created: str = "2026-03-02T18:00:00+01:00", ntfctn_id: str = "NTF-1"
) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{CAMT08}">'
        "<BkToCstmrDbtCdtNtfctn>"
        f"<GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>{created}</CreDtTm></GrpHdr>"
        f"<Ntfctn><Id>{ntfctn_id}</Id><Acct><Id><IBAN>NL80RABO0301875419</IBAN></Id></Acct>"
        + "".join(entries)
        + "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"
    ).encode()


def ntry(
    *details: str,
    amount: str = "100.00",
    ccy: str = "EUR",
    direction: str = "CRDT",
    reversal: str | None = None,
    status: str = "BOOK",
    booking: str | None = "<Dt>2026-03-02</Dt>",
    ref: str | None = "REF-1",
    ntry_ref: str | None = None,
    domain: tuple[str, str, str] | None = ("PMNT", "IDDT", "ESDD"),
    proprietary: str | None = None,
) -> str:
    btc = ""
    if domain is not None:
        btc += (
            f"<Domn><Cd>{domain[0]}</Cd><Fmly><Cd>{domain[1]}</Cd>"
            f"<SubFmlyCd>{domain[2]}</SubFmlyCd></Fmly></Domn>"
        )
    if proprietary is not None:
        btc += f"<Prtry><Cd>{proprietary}</Cd></Prtry>"
    body = "".join(details)
    return (
        "<Ntry>"
        + _opt("NtryRef", ntry_ref)
        + f'<Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>{direction}</CdtDbtInd>'
        + _opt("RvslInd", reversal)
        + f"<Sts><Cd>{status}</Cd></Sts>"
        + _opt("BookgDt", booking)
        + _opt("AcctSvcrRef", ref)
        + f"<BkTxCd>{btc}</BkTxCd>"
        + (f"<NtryDtls>{body}</NtryDtls>" if body else "")
        + "</Ntry>"
    )


def tx(
    *,
    e2e: str | None = "E2E-1",
    mandate: str | None = "NZH-MDT-000101",
    tx_ref: str | None = None,
    amount: str | None = None,
    ccy: str = "EUR",
    direction: str | None = None,
    iban: str | None = None,
    reason: str | None = None,
    reason_prtry: str | None = None,
    returned: bool = False,
    ustrd: Iterable[str] = (),
    strd_ref: str | None = None,
) -> str:
    refs = _opt("AcctSvcrRef", tx_ref) + _opt("EndToEndId", e2e) + _opt("MndtId", mandate)
    parties = (
        f"<RltdPties><DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct></RltdPties>" if iban else ""
    )
    remittance = "".join(f"<Ustrd>{line}</Ustrd>" for line in ustrd)
    if strd_ref is not None:
        remittance += f"<Strd><CdtrRefInf><Ref>{strd_ref}</Ref></CdtrRefInf></Strd>"
    rtr = ""
    if reason is not None:
        rtr = f"<RtrInf><Rsn><Cd>{reason}</Cd></Rsn></RtrInf>"
    elif reason_prtry is not None:
        rtr = f"<RtrInf><Rsn><Prtry>{reason_prtry}</Prtry></Rsn></RtrInf>"
    elif returned:
        rtr = "<RtrInf><AddtlInf>no reason given</AddtlInf></RtrInf>"
    return (
        "<TxDtls>"
        + (f"<Refs>{refs}</Refs>" if refs else "")
        + (f'<Amt Ccy="{ccy}">{amount}</Amt>' if amount is not None else "")
        + _opt("CdtDbtInd", direction)
        + parties
        + (f"<RmtInf>{remittance}</RmtInf>" if remittance else "")
        + rtr
        + "</TxDtls>"
    )


def pain(
    *blocks: str,
    group_status: str | None = None,
    group_reason: str | None = None,
    original: str = "pain.008.001.08",
    created: str = "2026-02-27T16:00:00+01:00",
) -> bytes:
    reason = f"<StsRsnInf><Rsn><Cd>{group_reason}</Cd></Rsn></StsRsnInf>" if group_reason else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{PAIN10}"><CstmrPmtStsRpt>'
        f"<GrpHdr><MsgId>STS-1</MsgId><CreDtTm>{created}</CreDtTm></GrpHdr>"
        f"<OrgnlGrpInfAndSts><OrgnlMsgId>NZH-PAIN008-1</OrgnlMsgId>"
        f"<OrgnlMsgNmId>{original}</OrgnlMsgNmId>"
        + _opt("GrpSts", group_status)
        + reason
        + "</OrgnlGrpInfAndSts>"
        + "".join(blocks)
        + "</CstmrPmtStsRpt></Document>"
    ).encode()


def block(*transactions: str, status: str | None = None, reason: str | None = None) -> str:
    why = f"<StsRsnInf><Rsn><Cd>{reason}</Cd></Rsn></StsRsnInf>" if reason else ""
    return (
        "<OrgnlPmtInfAndSts><OrgnlPmtInfId>PMTINF-1</OrgnlPmtInfId>"
        + _opt("PmtInfSts", status)
        + why
        + "".join(transactions)
        + "</OrgnlPmtInfAndSts>"
    )


def status(
    *,
    e2e: str | None = "E2E-1",
    tx_status: str | None = "RJCT",
    reason: str | None = "AM04",
    reason_prtry: str | None = None,
    amount: str = "100.00",
    ccy: str = "EUR",
    collection_date: str | None = "2026-03-02",
    mandate: str | None = "NZH-MDT-000101",
    original: bool = True,
    acct_ref: str | None = None,
) -> str:
    why = ""
    if reason is not None:
        why = f"<StsRsnInf><Rsn><Cd>{reason}</Cd></Rsn></StsRsnInf>"
    elif reason_prtry is not None:
        why = f"<StsRsnInf><Rsn><Prtry>{reason_prtry}</Prtry></Rsn></StsRsnInf>"
    ref = ""
    if original:
        ref = (
            f'<OrgnlTxRef><Amt><InstdAmt Ccy="{ccy}">{amount}</InstdAmt></Amt>'
            + _opt("ReqdColltnDt", collection_date)
            + (f"<MndtRltdInf><MndtId>{mandate}</MndtId></MndtRltdInf>" if mandate else "")
            + "</OrgnlTxRef>"
        )
    return (
        "<TxInfAndSts>"
        + _opt("OrgnlEndToEndId", e2e)
        + _opt("TxSts", tx_status)
        + why
        + _opt("AcctSvcrRef", acct_ref)
        + ref
        + "</TxInfAndSts>"
    )
