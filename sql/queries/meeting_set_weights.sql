-- meeting_set_weights: the weights of the three groups in the combined result.
-- Parameters: $meeting_id INTEGER, $resident DOUBLE, $officer DOUBLE, $partner DOUBLE.
UPDATE meetings
SET weight_resident = $resident::DOUBLE, weight_officer = $officer::DOUBLE, weight_partner = $partner::DOUBLE
WHERE id = $meeting_id AND site = $site;
