"""Smart logistics (智慧物流): the area's rules, one module per subject.

================  ==================================================================
policy            the plant's configurable rules (settings ``portal.logistics_*``)
drivers           人员信息 / 车辆信息登记: drivers, their vehicles, certificate expiry
entry_reports     车辆入场报备
bookings          提送货登记: booking, registration, cancellation, 退卡, what LE is told
stock             the MES stock: accepting a pickup under the product's lock
le_events         what LE reports: a visit's steps, outbound orders, lanes; conflicts
visits            到厂作业: a visit as the facts LE reported, and the booking derived from them
orders            单据 (their shipped quantity, conflicts) and 到货签收 (sign-off)
lanes             装车道 as LE reports them
products          品名 and their stock rules (admin)
queries           what the driver's API and the operators' pages read
================  ==================================================================

No HTTP and no broker here: a push to LE or a question to the MES is deferred to an actor by
name (``le.sync_booking`` …), which hands the other system's answer back to these modules.
"""
