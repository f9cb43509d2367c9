"""The phantom's text: master-sheet rows, gaze-table rows, bounding boxes, transcripts.

Values have the kinds the real release has (ids, 0/1 flags, CheXpert 1/0/−1/blank, quoted
free text with commas and newlines); the gaze rows are formatted here with one ``%`` format
per row (columns that are constant for a screen are baked into the format).
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np

from ggcam.data.layout import BBOX_COLUMNS, CHEXPERT_COLUMNS, GAZE_COLUMNS, MASTER_COLUMNS

DX = {  # (text, ICD-10) pools; the first CHF / pneumonia diagnosis follows the class
    "CHF": [("Heart failure, unspecified", "I509"), ("Acute on chronic diastolic heart failure", "I5033")],
    "pneumonia": [("Pneumonia, unspecified organism", "J189"), ("Lobar pneumonia, unspecified organism", "J181")],
    "other": [("Essential (primary) hypertension", "I10"), ("Chest pain, unspecified", "R079"),
              ("Shortness of breath", "R0602"), ("Unspecified atrial fibrillation", "I4891"),
              ("Type 2 diabetes mellitus without complications", "E119"),
              ("Acute kidney failure, unspecified", "N179"), ("Sepsis, unspecified organism", "A419"),
              ("Chronic obstructive pulmonary disease, unspecified", "J449"), ("Cough", "R05"),
              ("Syncope and collapse", "R55"), ("Hyperlipidemia, unspecified", "E785")],
}
INDICATIONS = ["___M with shortness of breath", "___F with cough, fever", "History: ___ with dyspnea",
               "___ year old woman with chest pain, evaluate for acute process",
               "___ year old man with hypoxia, r/o pneumonia", "Eval for infiltrate",
               "Hx CHF, increasing edema", 'Patient reports "worsening" dyspnea, eval']
TEXT = {
    "normal": ["The lungs are clear.", "The cardiomediastinal silhouette is normal.",
               "There is no pleural effusion or pneumothorax."],
    "heart": "The heart is enlarged.", "edema": "There is mild pulmonary vascular congestion and interstitial edema.",
    "effusion": "There are small pleural effusions with blunting of the costophrenic angles.",
    "consolidation": "There is a focal consolidation in the {} lung, concerning for pneumonia.",
}


def master_row(spec, anat, fnd, pads, rng) -> dict[str, str]:
    """One master-sheet record (all 59 columns, as strings)."""
    label = spec.label
    row = dict.fromkeys(MASTER_COLUMNS, "")
    row.update(dicom_id=spec.dicom_id, path=spec.path, study_id=spec.study_id,
               patient_id=spec.patient_id, stay_id=spec.stay_id, gender="F" if spec.female else "M",
               anchor_age=spec.age)
    for k, col in enumerate(("image_top_pad", "image_bottom_pad", "image_left_pad", "image_right_pad")):
        row[col] = str(pads[k])
    pools = {1: DX["CHF"], 2: DX["pneumonia"]}
    dx = [pools[label][rng.integers(len(pools[label]))]] if label in pools else []
    others = rng.permutation(len(DX["other"]))[: int(rng.integers(0, 9 - len(dx)))]
    dx += [DX["other"][k] for k in others]
    for k, (text, icd) in enumerate(dx[:9], start=1):
        row[f"dx{k}"], row[f"dx{k}_icd"] = text, icd
    edema, effusion = fnd.edema > 0, max(fnd.effusion) > 0
    flags = {"consolidation": label == 2, "enlarged_cardiac_silhouette": anat.ctr > 0.5,
             "linear__patchy_atelectasis": rng.random() < 0.1,
             "lobar__segmental_collapse": rng.random() < 0.03,
             "not_otherwise_specified_opacity___pleural__parenchymal_opacity__":
                 label == 2 and rng.random() < 0.3,
             "pleural_effusion_or_thickening": effusion, "pulmonary_edema__hazy_opacity": edema,
             "normal_anatomically": label == 0, "elevated_hemidiaphragm": rng.random() < 0.05,
             "hyperaeration": rng.random() < 0.05, "vascular_redistribution": edema and rng.random() < 0.6}
    row.update({k: str(int(v)) for k, v in flags.items()})
    row.update(normal_reports=str(int(label == 0)), Normal=str(int(label == 0)),
               CHF=str(int(label == 1)), pneumonia=str(int(label == 2)))
    truth = {"cardiomegaly__chx": anat.ctr > 0.5, "consolidation__chx": label == 2,
             "pneumonia__chx": label == 2, "edema__chx": edema, "pleural_effusion__chx": effusion,
             "no_finding__chx": label == 0}
    for col in CHEXPERT_COLUMNS:
        if rng.random() < 0.25:
            value = int(truth.get(col, False))
            row[col] = "-1" if rng.random() < 0.1 else str(value)
    text = INDICATIONS[rng.integers(len(INDICATIONS))]
    if rng.random() < 0.3:  # about 310 of 1,083 real records span several lines
        text += "\n" + INDICATIONS[rng.integers(len(INDICATIONS))]
    row["cxr_exam_indication"] = text
    return row


def csv_text(rows: list[dict], columns) -> str:
    """CSV with a header, fields quoted only when needed (commas, quotes, newlines)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def bbox_rows(dicom_id: str, boxes: dict) -> list[dict]:
    return [dict(zip(BBOX_COLUMNS, (dicom_id, name, *(round(float(c), 3) for c in box))))
            for name, box in boxes.items()]


def transcript(fnd, label, duration, rng) -> str:
    """transcript.json: the dictation, sentence by sentence, over the reading time."""
    sentences = [TEXT["heart"]] if label == 1 else []
    sentences += [TEXT["consolidation"].format("left" if u > 0 else "right")
                  for u, *_ in fnd.consolidations]
    sentences += [TEXT["edema"]] if fnd.edema else []
    sentences += [TEXT["effusion"]] if max(fnd.effusion) > 0 else []
    sentences += {0: TEXT["normal"], 1: [], 2: TEXT["normal"][1:2]}[label]
    edges = np.sort(rng.uniform(0.5, max(duration, 1.0), 2 * len(sentences)))
    stamps = [{"begin_time": round(float(a), 3), "end_time": round(float(b), 3), "phrase": s}
              for s, a, b in zip(sentences, edges[::2], edges[1::2])]
    return json.dumps({"full_text": " ".join(sentences), "time_stamped_text": stamps},
                      sort_keys=True, indent=2)


# Per-column format and which columns are constant over a screen.
_FORMATS = {c: "%.5f" for c in GAZE_COLUMNS}
_FORMATS.update({c: "%d" for c in ("SESSION_ID", "MEDIA_ID", "CNT", "FPOGID", "FPOGV", "BPOGV",
                                   "LPV", "RPV", "BKID", "BKPMIN", "LPMMV", "RPMMV", "VID_FRAME",
                                   "X_ORIGINAL", "Y_ORIGINAL")})
_FORMATS.update({"DICOM_ID": "%s", "TIMETICK(f=10000000)": "%d.0"})


def gaze_text(table: dict, *, session: int, media: int, dicom_id: str, cnt0: int, fid0: int,
              tick0: int) -> str:
    """Rows (no header) of one screen's gaze table, with the session's counters added."""
    time = np.asarray(table["Time (in secs)"])
    values = dict(table, SESSION_ID=session, MEDIA_ID=media, DICOM_ID=dicom_id,
                  CNT=np.asarray(table["CNT"]) + cnt0, FPOGID=np.asarray(table["FPOGID"]) + fid0)
    values["TIMETICK(f=10000000)"] = tick0 + np.rint(time * 1e7).astype(np.int64)
    parts, varying = [], []
    for col in GAZE_COLUMNS:
        val = values[col]
        arr = np.asarray(val)
        if arr.ndim == 0 or (len(arr) and (arr == arr[0]).all() and col not in ("CNT", "FPOGID")):
            scalar = arr.item() if arr.ndim == 0 else arr[0].item()
            parts.append((_FORMATS[col] % scalar).replace("%", "%%"))
        else:
            parts.append(_FORMATS[col])
            varying.append(arr.tolist())
    fmt = ",".join(parts) + "\n"
    return "".join([fmt % row for row in zip(*varying)])


def screens_in_reading_order(specs, results, rng) -> list[tuple[dict, dict, dict]]:
    """Reading order, sessions and counters of the gaze tables: (fixation table, raw table,
    ``gaze_text`` kwargs) per screen, from ``build_case``'s results in ``specs``' order."""
    out = []
    order = rng.permutation(len(specs))
    session, cnt0, fid0, tick0, left = 0, 0, 0, 0, 0
    for k in order:
        spec, screens = specs[k], results[k]["screens"]
        if left == 0:  # a new session starts with a calibration screen
            session, media, cnt0, fid0, left = session + 1, 0, 0, 0, int(rng.integers(15, 46))
            tick0 = int(rng.integers(10**11, 10**12))
        # A calibration screen opens each session and comes back now and then.
        names = ["calibration", "image"] if media == 0 or rng.random() < 0.08 else ["image"]
        for name in names:
            fix, raw = screens[name]
            screen_id = spec.dicom_id
            if name == "calibration":  # the release's two spellings of a calibration id
                screen_id = spec.dicom_id[:-5] if rng.random() < 0.5 else f"{spec.dicom_id}_calibration"
            media += 1
            kw = dict(session=session, media=media, dicom_id=screen_id, cnt0=cnt0, fid0=fid0,
                      tick0=tick0)
            out.append((fix, raw, kw))
            cnt0 += len(raw["CNT"])
            fid0 += len(fix["CNT"])
            tick0 += int(round((raw["Time (in secs)"][-1] + rng.uniform(2.0, 8.0)) * 1e7))
        left -= 1
    return out
