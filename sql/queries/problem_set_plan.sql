-- problem_set_plan: the assessment plan of a card: response start, period length and comparison place
-- (an area code, or a ring of $buffer_m metres around the place; exactly one of the two is set).
-- Parameters: $id INTEGER, $response_start DATE, $period_days INTEGER, $area VARCHAR or NULL,
--   $buffer_m DOUBLE or NULL.
UPDATE problems
SET response_start = $response_start, period_days = $period_days,
    comparison_area = $area, comparison_buffer_m = $buffer_m, updated_at = now()
WHERE id = $id AND site = $site;
