"""A tiny canonical client base and writers that dress it up as real exports.

Each writer puts the same base into a folder in one export style (encodings, delimiters, decimal
commas, thousands separators, date formats, yes/no words, Russian headers, title and total rows,
Excel, Parquet); the readers must bring every style back to the same canonical tables.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pandas as pd

CLIENTS = pd.DataFrame({
    "client_id": ["C1", "C2", "C3", "C4"],
    "name": ["Acme, Ltd", "Бета", "Gamma Univ", "Delta Gov"],
    "portfolio": ["P1", "P1", "P2", "P2"],
    "org_type": ["private", "startup", "education", "government"],
    "founded_year": [1990, 2019, 1950, 1920],
    "is_reference": [False, False, True, True],
})
TRANSACTIONS = pd.DataFrame({
    "order_id": ["O1", "O2", "O3", "O4", "O5", "O6"],
    "date": pd.to_datetime(["2024-01-05", "2024-02-29", "2024-03-31", "2024-04-01", "2024-05-15", "2024-06-30"]),
    "client_id": ["C1", "C1", "C2", "C3", "C4", "C1"],
    "revenue": [1234567.89, 0.10, 2500.00, 999.99, 12.34, 0.20],
    "cost": [1000000.00, 0.05, 2000.50, 500.00, 10.00, 0.10],
    "is_new_product": [False, True, False, True, False, False],
    "account_manager": ["Ann", "Ann", "Bob", "Cy", "Cy", "Dan"],
})
EVENTS = pd.DataFrame({
    "date": pd.to_datetime(["2024-01-10", "2024-02-11", "2024-04-12", "2024-05-13"]),
    "client_id": ["C1", "C2", "C3", "C4"],
    "type": ["claim", "trial", "prepayment", "incident"],
    "amount": [None, None, 15000.50, None],
})
KPIS = pd.DataFrame({
    "portfolio": ["P1", "P1", "P2", "P2"],
    "period": ["2024Q1", "2024Q2", "2024Q1", "2024Q2"],
    "plan_attainment": [0.95, 1.02, 0.88, 1.10],
})
TABLES = {"clients": CLIENTS, "transactions": TRANSACTIONS, "events": EVENTS, "kpis": KPIS}

RU_HEADERS = {
    "client_id": "ИНН", "name": "Наименование", "portfolio": "Подразделение", "org_type": "Тип организации",
    "founded_year": "Год основания", "is_reference": "Референс", "order_id": "Номер документа",
    "date": "Дата", "revenue": "Выручка", "cost": "Себестоимость", "is_new_product": "Новинка",
    "account_manager": "Менеджер", "type": "Вид события", "amount": "Сумма", "period": "Период",
    "plan_attainment": "Выполнение плана",
}
RU_VALUES = {"private": "Коммерческая организация", "startup": "Стартап", "education": "Образовательное учреждение",
             "government": "Госучреждение", "claim": "Рекламация", "trial": "Испытание",
             "prepayment": "Предоплата", "incident": "Инцидент"}


def _money(v, *, dec=".", thou=""):
    if v is None or v != v:
        return ""
    whole, frac = f"{abs(v):.2f}".split(".")
    groups = f"{int(whole):,}".replace(",", thou) if thou else whole
    return ("-" if v < 0 else "") + groups + dec + frac


def styled(table: str, df: pd.DataFrame, *, dec=".", thou="", date_fmt="%Y-%m-%d", yes="true", no="false",
           ru=False) -> pd.DataFrame:
    """``df`` with every value written as text the way an export would."""
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        s = df[c]
        if c in ("revenue", "cost", "amount"):
            out[c] = [_money(v, dec=dec, thou=thou) for v in s]
        elif c == "plan_attainment":
            out[c] = [f"{v:.2f}".replace(".", dec) for v in s]
        elif c == "date":
            out[c] = s.dt.strftime(date_fmt)
        elif c in ("is_reference", "is_new_product"):
            out[c] = s.map({True: yes, False: no})
        elif ru and c in ("org_type", "type"):
            out[c] = s.map(RU_VALUES)
        elif c == "period" and ru:
            out[c] = [pd.Period(p).start_time.strftime("%d.%m.%Y") for p in s]
        else:
            out[c] = s.astype(str)
    if ru:
        out = out.rename(columns=RU_HEADERS)
    return out


def write_style(folder: Path, style: str) -> Path:
    """Write the tiny base into ``folder`` in export ``style``; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, df in TABLES.items():
        if style == "standard":
            styled(table, df).to_csv(folder / f"{table}.csv", index=False)
        elif style == "bom_semicolon_comma":
            text = styled(table, df, dec=",").to_csv(index=False, sep=";")
            (folder / f"{table}.csv").write_bytes(text.encode("utf-8-sig"))
        elif style == "1c_cp1251":
            body = styled(table, df, dec=",", thou="\u00a0", date_fmt="%d.%m.%Y", yes="Да", no="Нет", ru=True
                          ).to_csv(index=False, sep=";", lineterminator="\r\n")
            text = f"Отчёт «{table}» за 2024 г.;\r\n;\r\n" + body
            if table == "transactions":
                text += "Итого;;;1\u00a0240\u00a0082,52;;;\r\n"
            (folder / f"{table}.csv").write_bytes(text.encode("cp1251"))
        elif style == "tab_slash_thousands_comma":
            styled(table, df, thou=",", date_fmt="%d/%m/%Y", yes="yes", no="no").to_csv(
                folder / f"{table}.tsv", index=False, sep="\t")
        elif style == "pipe_yyyymmdd_space":
            text = styled(table, df, thou=" ", date_fmt="%Y%m%d", yes="1", no="0").to_csv(index=False, sep="|")
            text += "Total||||||\n" if table == "transactions" else ""
            (folder / f"{table}.txt").write_text(text, encoding="utf-8")
        elif style == "quoted_comma_thousands":
            styled(table, df, thou=",", date_fmt="%d.%m.%Y %H:%M:%S").to_csv(folder / f"{table}.csv", index=False)
        elif style == "gzip":
            data = styled(table, df, dec=",").to_csv(index=False, sep=";").encode("utf-8")
            (folder / f"{table}.csv.gz").write_bytes(gzip.compress(data, mtime=0))
        elif style == "xlsx":
            with pd.ExcelWriter(folder / f"{table}.xlsx", engine="openpyxl") as xw:
                pd.DataFrame([[f"Выгрузка {table}"]]).to_excel(xw, sheet_name="Данные", index=False, header=False)
                df.to_excel(xw, sheet_name="Данные", index=False, startrow=2)
        elif style == "parquet":
            df.to_parquet(folder / f"{table}.parquet", index=False)
        else:
            raise ValueError(style)
    return folder


STYLES = ("standard", "bom_semicolon_comma", "1c_cp1251", "tab_slash_thousands_comma", "pipe_yyyymmdd_space",
          "quoted_comma_thousands", "gzip", "xlsx", "parquet")


def checksums(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}
