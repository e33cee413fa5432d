"""A diagram past the size limit is refused with its size and the limit (issue 16 §1, a 3.6 MB export of 8,000
steps): it said "too large or compressed suspiciously well", which a file that was never compressed is not."""

from __future__ import annotations

import io

from app.modeler.operations import MAX_FILE_BYTES


def test_a_diagram_past_the_limit_is_refused_with_its_size_and_the_limit(world, browser):
    owner = browser("owner")
    body = "<bpmn:task id=\"t{}\" />\n"
    data = (b'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn='
            b'"http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x"><bpmn:process id="big">'
            + "".join(body.format(i) for i in range(MAX_FILE_BYTES // 20)).encode()
            + b"</bpmn:process></bpmn:definitions>")
    assert len(data) > MAX_FILE_BYTES
    response = owner.post("/modeler/import", {"archive": (io.BytesIO(data), "big.bpmn"), "lane_role": "starter"},
                          content_type="multipart/form-data", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "big.bpmn is" in page and "at most 2 MB" in page and "compressed" not in page, page[:2000]
