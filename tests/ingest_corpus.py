"""A corpus of realistic exports, generated, each with what a correct proposal must find.

Every case writes one folder the way a real system exports (1C in cp1251 with `;` and decimal
commas, an Excel report with title rows, VAT and «Итого», an English CRM export, a space-separated
log, a fixed-width report, ...) from one small seeded client base, and returns a :class:`Case`:
the table each file must be given, every column's role, the exit code ``validate`` must reach on
the proposal, the message when it must fail, and the revenue total of the export computed here
directly (net of VAT where a VAT amount column exists), to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass
class Case:
    name: str
    folder: Path
    tables: dict[str, str | list[str]]           # table → file name (a list: an export split over files)
    columns: dict[str, dict[str, str]]           # table → canonical → header
    exit_code: int = 0
    message: str = ""                            # in the validate error when exit_code is 2
    revenue: Decimal | None = None               # total net revenue of the lines used
    lines: int | None = None                     # order lines used
    clients: int | None = None
    extra: dict = field(default_factory=dict)    # further expectations (config lines, warnings)


def base(seed: int = 7, n_clients: int = 30, n_lines: int = 360, start: str = "2023-01-01",
         end: str = "2024-12-31") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clients (code, name, inn, industry) and order lines (doc, code, date, amount) of one company."""
    rng = np.random.default_rng(seed)
    codes = [f"{i:05d}" for i in range(1, n_clients + 1)]
    names = [f"ООО «Клиент {i}»" if i % 3 else f"Client {i} Ltd" for i in range(1, n_clients + 1)]
    inn = [str(7700000000 + 1237 * i) for i in range(1, n_clients + 1)]
    industry = rng.choice(["Торговля", "Производство", "Услуги"], n_clients)
    clients = pd.DataFrame({"code": codes, "name": names, "inn": inn, "industry": industry})
    days = pd.date_range(start, end, freq="D")
    # every day of the span has orders at both ends, so no period is partial unless a case wants it
    idx = np.concatenate([[0, len(days) - 1], rng.integers(0, len(days), n_lines - 2)])
    date = days[np.sort(idx)]
    who = rng.integers(0, n_clients - 2, n_lines)  # the last two clients never buy
    cents = rng.integers(50_00, 2_500_000_00, n_lines)
    amount = cents / 100
    tx = pd.DataFrame({"doc": [f"РН-{i:06d}" for i in range(1, n_lines + 1)], "code": [codes[k] for k in who],
                       "name": [names[k] for k in who], "date": date, "amount": amount})
    tx["vat"] = (tx["amount"] * 20 / 120).round(2)
    return clients, tx


def money(values, dec=",", thou="\u00a0") -> list[str]:
    out = []
    for v in values:
        whole, frac = f"{abs(v):.2f}".split(".")
        groups = f"{int(whole):,}".replace(",", thou) if thou else whole
        out.append(("-" if v < 0 else "") + groups + dec + frac)
    return out


def total(values) -> Decimal:
    return sum((Decimal(f"{v:.2f}") for v in values), Decimal("0.00"))


def _cp1251(path: Path, df: pd.DataFrame, *, title: str = "", footer: str = "") -> None:
    body = df.to_csv(index=False, sep=";", lineterminator="\r\n")
    path.write_bytes(((title + "\r\n;\r\n" if title else "") + body + footer).encode("cp1251"))


def case_1c_code_name(root: Path) -> Case:
    """1C: clients «Контрагент;Наименование» (codes 00001 in the first column), cp1251, `;`, commas."""
    cl, tx = base(1)
    folder = root / "1c_code_name"
    folder.mkdir()
    _cp1251(folder / "Контрагенты.csv", pd.DataFrame({"Контрагент": cl["code"], "Наименование": cl["name"],
                                                      "Отрасль": cl["industry"]}))
    t = pd.DataFrame({"Документ": tx["doc"], "Дата": tx["date"].dt.strftime("%d.%m.%Y"), "Контрагент": tx["code"],
                      "Сумма": money(tx["amount"])})
    _cp1251(folder / "Реализация_ru.csv", t, title="Реализация товаров и услуг за 2023–2024 гг.",
            footer="Итого;;;" + money([tx["amount"].sum()])[0] + "\r\n")
    return Case("1c_code_name", folder, {"clients": "Контрагенты.csv", "transactions": "Реализация_ru.csv"},
                {"clients": {"client_id": "Контрагент", "name": "Наименование", "industry": "Отрасль"},
                 "transactions": {"order_id": "Документ", "date": "Дата", "client_id": "Контрагент", "revenue": "Сумма"}},
                revenue=total(tx["amount"]), lines=len(tx), clients=len(cl),
                extra={"warning": "clients with no order line at all: 2 of 30"})


def case_excel_vat_report(root: Path) -> Case:
    """An Excel sales report: title rows, «Сумма с НДС» and «В т.ч. НДС», a client name, «Итого»."""
    cl, tx = base(2)
    folder = root / "excel_vat"
    folder.mkdir()
    df = pd.DataFrame({"Дата": tx["date"], "Код клиента": tx["code"], "Клиент": tx["name"],
                       "Сумма с НДС": tx["amount"], "В т.ч. НДС": tx["vat"]})
    with pd.ExcelWriter(folder / "sales_2024.xlsx", engine="openpyxl") as xw:
        pd.DataFrame([["Отчёт о продажах"], ["за 2023–2024 гг."]]).to_excel(xw, sheet_name="Отчёт", index=False,
                                                                         header=False)
        df.to_excel(xw, sheet_name="Отчёт", index=False, startrow=3)
        pd.DataFrame([["Итого", None, None, tx["amount"].sum(), tx["vat"].sum()]]).to_excel(
            xw, sheet_name="Отчёт", index=False, header=False, startrow=4 + len(df))
    return Case("excel_vat", folder, {"transactions": "sales_2024.xlsx"},
                {"transactions": {"date": "Дата", "client_id": "Код клиента", "client_name": "Клиент",
                                  "revenue": "Сумма с НДС", "vat_amount": "В т.ч. НДС"}},
                revenue=total(tx["amount"]) - total(tx["vat"]), lines=len(tx), clients=tx["code"].nunique(),
                extra={"config": "net revenue = Сумма с НДС − В т.ч. НДС", "derived": True})


def case_english_crm(root: Path) -> Case:
    """An English CRM export: ``export (3).csv`` with Order ID, Customer ID, a status with
    cancellations, and a customers file."""
    cl, tx = base(3)
    folder = root / "crm"
    folder.mkdir()
    ids = {c: f"CUST-{int(c)}" for c in cl["code"]}
    status = np.where(np.arange(len(tx)) % 17 == 5, "Cancelled", np.where(np.arange(len(tx)) % 5 == 0, "Shipped",
                                                                          "Completed"))
    pd.DataFrame({"Order ID": [f"SO{i}" for i in range(len(tx))], "Customer ID": tx["code"].map(ids),
                  "Order Date": tx["date"].dt.strftime("%Y-%m-%d 10:15:00"), "Status": status,
                  "Amount": [f"{v:,.2f}" for v in tx["amount"]]}).to_csv(folder / "export (3).csv", index=False)
    pd.DataFrame({"Customer ID": cl["code"].map(ids), "Company Name": cl["name"], "Industry": cl["industry"],
                  "Country": "US"}).to_csv(folder / "customers (1).csv", index=False)
    kept = tx[status != "Cancelled"]
    return Case("english_crm", folder, {"clients": "customers (1).csv", "transactions": "export (3).csv"},
                {"clients": {"client_id": "Customer ID", "name": "Company Name", "industry": "Industry",
                             "country": "Country"},
                 "transactions": {"order_id": "Order ID", "client_id": "Customer ID", "date": "Order Date",
                                  "revenue": "Amount"}},
                revenue=total(kept["amount"]), lines=len(kept), clients=len(cl),
                extra={"config": "Status: {drop: [Cancelled]}",
                       "dropped": (int((status == "Cancelled").sum()), total(tx["amount"][status == "Cancelled"]))})


def case_ids_two_ways(root: Path) -> Case:
    """Clients with zero-padded text codes (``00042``), order lines with the same ids as numbers (``42``)."""
    cl, tx = base(4)
    folder = root / "ids_two_ways"
    folder.mkdir()
    pd.DataFrame({"Код": cl["code"], "Наименование": cl["name"]}).to_csv(folder / "clients.csv", index=False,
                                                                        sep=";", encoding="utf-8-sig")
    pd.DataFrame({"Дата": tx["date"].dt.strftime("%Y-%m-%d"), "Код клиента": tx["code"].astype(int),
                  "Выручка": tx["amount"]}).to_csv(folder / "transactions.csv", index=False, sep=";",
                                                   encoding="utf-8-sig")
    return Case("ids_two_ways", folder, {"clients": "clients.csv", "transactions": "transactions.csv"},
                {"clients": {"client_id": "Код", "name": "Наименование"},
                 "transactions": {"date": "Дата", "client_id": "Код клиента", "revenue": "Выручка"}},
                revenue=total(tx["amount"]), lines=len(tx), clients=len(cl),
                extra={"config": "zero_pad: 5", "without_config": "client ids written two ways"})


def case_status_ru(root: Path) -> Case:
    """Order lines with «Статус» Проведён / Отменён / Аннулирован, UTF-8 with BOM, tab-separated."""
    cl, tx = base(5)
    folder = root / "status_ru"
    folder.mkdir()
    st = np.array(["Проведён"] * len(tx), dtype=object)
    st[::13] = "Отменён"
    st[7::29] = "Аннулирован"
    pd.DataFrame({"ИНН": cl["inn"], "Организация": cl["name"]}).to_csv(folder / "clients.tsv", sep="\t",
                                                                       index=False)
    inn = dict(zip(cl["code"], cl["inn"]))
    pd.DataFrame({"Дата документа": tx["date"].dt.strftime("%d.%m.%Y"), "ИНН контрагента": tx["code"].map(inn),
                  "Статус": st, "Сумма, руб.": money(tx["amount"], thou=" ")}).to_csv(
        folder / "orders.tsv", sep="\t", index=False, encoding="utf-8-sig")
    keep = st == "Проведён"
    return Case("status_ru", folder, {"clients": "clients.tsv", "transactions": "orders.tsv"},
                {"clients": {"client_id": "ИНН", "name": "Организация"},
                 "transactions": {"date": "Дата документа", "client_id": "ИНН контрагента", "revenue": "Сумма, руб."}},
                revenue=total(tx["amount"][keep]), lines=int(keep.sum()), clients=len(cl),
                extra={"config": 'Статус: {drop: [Аннулирован, Отменён]}'})


def case_single_file(root: Path) -> Case:
    """Only order lines: «Дата;ИНН;Покупатель;Сумма без НДС» (the clients are derived)."""
    cl, tx = base(6)
    folder = root / "single"
    folder.mkdir()
    inn = dict(zip(cl["code"], cl["inn"]))
    _cp1251(folder / "выгрузка.csv", pd.DataFrame({"Дата": tx["date"].dt.strftime("%d.%m.%Y"),
                                                  "ИНН": tx["code"].map(inn), "Покупатель": tx["name"],
                                                  "Сумма без НДС": money(tx["amount"], thou="")}))
    return Case("single", folder, {"transactions": "выгрузка.csv"},
                {"transactions": {"date": "Дата", "client_id": "ИНН", "client_name": "Покупатель",
                                  "revenue": "Сумма без НДС"}},
                revenue=total(tx["amount"]), lines=len(tx), clients=tx["code"].nunique(), extra={"derived": True})


def case_doubled_export(root: Path) -> Case:
    """The same export saved twice into one file (the second copy with its header): must stop."""
    cl, tx = base(7)
    folder = root / "doubled"
    folder.mkdir()
    pd.DataFrame({"client_id": cl["code"], "name": cl["name"]}).to_csv(folder / "clients.csv", index=False)
    t = pd.DataFrame({"order_id": tx["doc"], "client_id": tx["code"], "date": tx["date"].dt.strftime("%Y-%m-%d"),
                      "revenue": tx["amount"].map("{:.2f}".format)})
    text = t.to_csv(index=False)
    (folder / "sales.csv").write_text(text + text, encoding="utf-8")
    return Case("doubled", folder, {"clients": "clients.csv", "transactions": "sales.csv"},
                {"clients": {"client_id": "client_id", "name": "name"},
                 "transactions": {"order_id": "order_id", "client_id": "client_id", "date": "date", "revenue": "revenue"}},
                exit_code=2, message="identical order lines: 360 of 720 lines repeat an earlier one")


def case_partial_quarter(root: Path) -> Case:
    """An export starting in the last week of a quarter: the first quarter is partial."""
    cl, tx = base(8, start="2023-03-24", end="2024-12-31")
    folder = root / "partial"
    folder.mkdir()
    pd.DataFrame({"Customer ID": cl["code"], "Customer Name": cl["name"]}).to_csv(folder / "customers.csv", index=False)
    pd.DataFrame({"Date": tx["date"].dt.strftime("%d/%m/%Y"), "Customer ID": tx["code"],
                  "Net Sales": tx["amount"].map("{:.2f}".format)}).to_csv(folder / "sales.csv", index=False)
    first = tx["date"] < "2023-04-01"
    return Case("partial", folder, {"clients": "customers.csv", "transactions": "sales.csv"},
                {"clients": {"client_id": "Customer ID", "name": "Customer Name"},
                 "transactions": {"date": "Date", "client_id": "Customer ID", "revenue": "Net Sales"}},
                revenue=total(tx["amount"]), lines=len(tx), clients=len(cl),
                extra={"warning": "partial first period 2023Q1", "partial": total(tx["amount"][first])})


def case_space_log(root: Path) -> Case:
    """A transaction log re-saved as space-separated text (``.txt``), one file."""
    cl, tx = base(9)
    folder = root / "space_log"
    folder.mkdir()
    lines = ["customer_no date amount"] + [f"{int(c)} {d:%Y-%m-%d} {a:.2f}"
                                           for c, d, a in zip(tx["code"], tx["date"], tx["amount"])]
    (folder / "log.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Case("space_log", folder, {"transactions": "log.txt"},
                {"transactions": {"client_id": "customer_no", "date": "date", "revenue": "amount"}},
                revenue=total(tx["amount"]), lines=len(tx), clients=tx["code"].nunique(),
                extra={"config": 'delimiter: "whitespace"', "derived": True})


def case_fixed_width(root: Path) -> Case:
    """A report printed to fixed-width text (``.dat``): names with spaces, aligned columns."""
    cl, tx = base(10)
    folder = root / "fixed"
    folder.mkdir()
    rows = [f"{'Client':<10}{'Client name':<24}{'Date':<12}{'Revenue':>14}"]
    rows += [f"{c:<10}{n:<24}{d:%d.%m.%Y}  {a:>14.2f}" for c, n, d, a in zip(tx["code"], tx["name"], tx["date"],
                                                                            tx["amount"])]
    (folder / "SALES.DAT").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return Case("fixed", folder, {"transactions": "SALES.DAT"},
                {"transactions": {"client_id": "Client", "client_name": "Client name", "date": "Date",
                                  "revenue": "Revenue"}},
                revenue=total(tx["amount"]), lines=len(tx), clients=tx["code"].nunique(),
                extra={"config": 'delimiter: "fixed"', "derived": True})


def case_english_money_names(root: Path) -> Case:
    """US dates and headers outside the synonym list: ``cust``, ``order_date``, ``dollar_value``, ``tax``
    (a VAT amount), a ``qty`` column that is not money, and ``customer_no`` in the clients file."""
    cl, tx = base(11)
    folder = root / "money_names"
    folder.mkdir()
    pd.DataFrame({"customer_no": cl["code"].astype(int), "customer": cl["name"], "segment": "private"}).to_csv(
        folder / "accounts.csv", index=False)
    pd.DataFrame({"order_date": tx["date"].dt.strftime("%m/%d/%Y"), "cust": tx["code"].astype(int),
                  "dollar_value": tx["amount"].map("{:.2f}".format), "tax": tx["vat"].map("{:.2f}".format),
                  "qty": 1 + np.arange(len(tx)) % 4}).to_csv(folder / "orders_2024.csv", index=False)
    return Case("money_names", folder, {"clients": "accounts.csv", "transactions": "orders_2024.csv"},
                {"clients": {"client_id": "customer_no", "name": "customer", "org_type": "segment"},
                 "transactions": {"date": "order_date", "client_id": "cust", "revenue": "dollar_value",
                                  "vat_amount": "tax"}},
                revenue=total(tx["amount"]) - total(tx["vat"]), lines=len(tx), clients=len(cl),
                extra={"config": "date_format: \"%m/%d/%Y\""})


def case_odd_names(root: Path) -> Case:
    """A folder whose names mislead: the order lines are in ``clients_ru.csv``, the clients in
    ``transactions.csv``, and KPIs in ``data (2).csv``."""
    cl, tx = base(12)
    folder = root / "odd_names"
    folder.mkdir()
    pd.DataFrame({"Код": cl["code"], "Наименование": cl["name"], "Отрасль": cl["industry"]}).to_csv(
        folder / "transactions.csv", index=False)
    pd.DataFrame({"Дата": tx["date"].dt.strftime("%d.%m.%Y"), "Код контрагента": tx["code"],
                  "Сумма": money(tx["amount"], thou="")}).to_csv(folder / "clients_ru.csv", index=False, sep=";")
    pd.DataFrame({"Период": [f"{y}Q{q}" for y in (2023, 2024) for q in range(1, 5)],
                  "Выполнение плана": [0.91, 1.02, 0.97, 1.1, 0.88, 0.95, 1.01, 1.05]}).to_csv(
        folder / "data (2).csv", index=False)
    return Case("odd_names", folder, {"clients": "transactions.csv", "transactions": "clients_ru.csv",
                                      "kpis": "data (2).csv"},
                {"clients": {"client_id": "Код", "name": "Наименование", "industry": "Отрасль"},
                 "transactions": {"date": "Дата", "client_id": "Код контрагента", "revenue": "Сумма"},
                 "kpis": {"period": "Период", "plan_attainment": "Выполнение плана"}},
                revenue=total(tx["amount"]), lines=len(tx), clients=len(cl))


def case_excel_float_ids(root: Path) -> Case:
    """Clients in Excel with numeric ids (read back as 1.0), order lines in CSV with ``1``; a code
    and an ИНН column both unique, the code being what the order lines carry."""
    cl, tx = base(13)
    folder = root / "excel_ids"
    folder.mkdir()
    pd.DataFrame({"ИНН": cl["inn"].astype("int64"), "Код": cl["code"].astype(int).astype(float),
                  "Наименование": cl["name"]}).to_excel(folder / "Клиенты.xlsx", index=False)
    pd.DataFrame({"Дата": tx["date"].dt.strftime("%d.%m.%Y"), "Клиент": tx["code"].astype(int),
                  "Стоимость": money(tx["amount"], thou=" ")}).to_csv(folder / "Продажи.csv", index=False, sep=";")
    return Case("excel_ids", folder, {"clients": "Клиенты.xlsx", "transactions": "Продажи.csv"},
                {"clients": {"client_id": "Код", "name": "Наименование"},
                 "transactions": {"date": "Дата", "client_id": "Клиент", "revenue": "Стоимость"}},
                revenue=total(tx["amount"]), lines=len(tx), clients=len(cl))


def _split_sales(root: Path, name: str, seed: int, overlap_days: int) -> tuple[Path, pd.DataFrame, pd.DataFrame,
                                                                            pd.DataFrame]:
    """An ERP export of 2023–2024 saved per year (``sales_2023.csv``, ``sales_2024.csv``, the same
    columns); ``overlap_days``: the last days of 2023 are exported again at the top of the 2024 file."""
    cl, tx = base(seed, n_lines=720)
    folder = root / name
    folder.mkdir()
    pd.DataFrame({"Код": cl["code"], "Наименование": cl["name"], "Отрасль": cl["industry"]}).to_csv(
        folder / "Контрагенты.csv", index=False, sep=";")
    t = pd.DataFrame({"Документ": tx["doc"], "Дата": tx["date"].dt.strftime("%d.%m.%Y"), "Код клиента": tx["code"],
                      "Сумма": money(tx["amount"], thou="")})
    cut = pd.Timestamp("2024-01-01")
    first = tx["date"] < cut
    again = first & (tx["date"] >= cut - pd.Timedelta(days=overlap_days))
    t[first].to_csv(folder / "sales_2023.csv", index=False, sep=";")
    t[again | ~first].to_csv(folder / "sales_2024.csv", index=False, sep=";")
    return folder, cl, tx, tx[again]


def case_split_export(root: Path) -> Case:
    """Order lines exported per year into two files with the same columns, no line in both: one table."""
    folder, cl, tx, _ = _split_sales(root, "split", 14, 0)
    return Case("split", folder, {"clients": "Контрагенты.csv", "transactions": ["sales_2023.csv", "sales_2024.csv"]},
                {"clients": {"client_id": "Код", "name": "Наименование", "industry": "Отрасль"},
                 "transactions": {"order_id": "Документ", "date": "Дата", "client_id": "Код клиента",
                                  "revenue": "Сумма"}},
                revenue=total(tx["amount"]), lines=len(tx), clients=len(cl))


def case_split_overlap(root: Path) -> Case:
    """The same two yearly files, the 2024 one starting with the last week of 2023 again (under 1 % of
    the lines, still an overlap between exports): the
    repeated lines stop validation naming both files; with `duplicates: keep` both copies count."""
    folder, cl, tx, again = _split_sales(root, "split_overlap", 15, 7)
    return Case("split_overlap", folder,
                {"clients": "Контрагенты.csv", "transactions": ["sales_2023.csv", "sales_2024.csv"]},
                {"clients": {"client_id": "Код", "name": "Наименование", "industry": "Отрасль"},
                 "transactions": {"order_id": "Документ", "date": "Дата", "client_id": "Код клиента",
                                  "revenue": "Сумма"}},
                exit_code=2, message=f"identical order lines: {len(again)} of {len(tx) + len(again)} lines repeat",
                extra={"keep": (total(tx["amount"]) + total(again["amount"]), len(tx) + len(again)),
                       "files": ("sales_2023.csv", "sales_2024.csv")})


CASES = (case_1c_code_name, case_excel_vat_report, case_english_crm, case_ids_two_ways, case_status_ru,
         case_single_file, case_doubled_export, case_partial_quarter, case_space_log, case_fixed_width,
         case_english_money_names, case_odd_names, case_excel_float_ids, case_split_export, case_split_overlap)


def case_unparseable_dates(root: Path) -> Case:
    """Canonical headers, but most of the `date` cells are not dates (``2024-13-45``, ``abc``, ``31.02``):
    validate must say the values do not parse (file, column, examples, lines), not that the column is missing."""
    cl, tx = base(16, n_lines=40)
    folder = root / "bad_dates"
    folder.mkdir()
    pd.DataFrame({"client_id": cl["code"], "name": cl["name"]}).to_csv(folder / "clients.csv", index=False)
    dates = tx["date"].dt.strftime("%Y-%m-%d").tolist()
    for i in range(0, len(dates), 4):  # 3 of 4 cells unreadable
        dates[i + 1], dates[i + 2], dates[i + 3] = "2024-13-45", "abc", "31.02"
    pd.DataFrame({"client_id": tx["code"], "date": dates, "revenue": tx["amount"].map("{:.2f}".format)}).to_csv(
        folder / "transactions.csv", index=False)
    return Case("bad_dates", folder, {"clients": "clients.csv", "transactions": "transactions.csv"}, {}, exit_code=2,
                message="transactions.csv, column date: values do not parse as dates: 30 of 40 filled cells "
                        "(e.g. '2024-13-45', 'abc', '31.02') (30 lines); lines 3, 4, 5",
                extra={"fix": "write every date in one format"})


def case_unparseable_revenue_ru(root: Path) -> Case:
    """A 1C file (cp1251, `;`, Russian headers) saved under the canonical names, whose «Сумма» column holds
    words («нет», «см. договор») in 3 of 4 lines: the values do not parse."""
    cl, tx = base(17, n_lines=40)
    folder = root / "bad_amounts"
    folder.mkdir()
    amounts = money(tx["amount"], thou="")
    for i in range(len(amounts)):
        if i % 4:  # 3 of 4 lines
            amounts[i] = "нет" if i % 2 else "см. договор"
    _cp1251(folder / "transactions.csv", pd.DataFrame({"Дата": tx["date"].dt.strftime("%d.%m.%Y"), "Контрагент": tx["code"],
                                                 "Сумма": amounts}))
    _cp1251(folder / "clients.csv", pd.DataFrame({"Контрагент": cl["code"], "Наименование": cl["name"]}))
    return Case("bad_amounts", folder, {}, {}, exit_code=2,
                message="transactions.csv, column Сумма: values do not parse as amounts: 30 of 40 filled cells "
                        "(e.g. 'нет', 'см. договор', 'нет') (30 lines); lines 3, 4, 5",
                extra={"fix": "remove text from the cells"})


#: Exports whose canonical columns hold values that do not parse: ``validate --data`` exits 2 with the message.
UNPARSEABLE = (case_unparseable_dates, case_unparseable_revenue_ru)
