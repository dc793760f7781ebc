-- Health plans draw their included items from the catalog (issue 16): a plan
-- item names its catalog item, whose price a consultation charges once the
-- included units are used. Plan items made before are linked when a host
-- opens the database (`Store::link_plan_items_to_catalog`): to the item with
-- the same code, or to a new item made from the plan item's own text, price
-- and rate.
ALTER TABLE plan_items ADD COLUMN item_id TEXT REFERENCES catalog_items (id);
