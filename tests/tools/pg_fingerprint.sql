-- Catalog fingerprint of the current database: one line per object, read from the catalogs and the
-- server's own pg_get_*def functions, never through a dumper, so that two databases compare with
-- `diff`. Names, not OIDs (OIDs differ between a database and its restored copy). Extension members
-- are left out (the extension recreates them); objects of extensions' own are listed by name.
-- Works on PostgreSQL 13 to 18: columns that not every major has are read with to_jsonb(row)->>'x'.
-- Run with: psql -X -At -v ON_ERROR_STOP=1 -f pg_fingerprint.sql (sorted; newlines as \n)
\set QUIET on
SET search_path = pg_catalog;
SET extra_float_digits = 3;
SET jit = off; -- compiling this query with Debian's LLVM JIT takes 15 s
CREATE TEMP VIEW fp_ns AS
    SELECT oid, nspname FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname !~ '^pg_(toast|temp_|toast_temp_)';
CREATE TEMP VIEW fp_ext AS SELECT classid, objid FROM pg_depend WHERE deptype = 'e';
CREATE TEMP VIEW fp_rel AS
    SELECT c.* FROM pg_class c
    WHERE c.relnamespace IN (SELECT oid FROM fp_ns)
      AND NOT EXISTS (SELECT FROM fp_ext e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid);

SELECT replace(replace(l, E'\\', E'\\\\'), E'\n', E'\\n') FROM (
-- schemas
SELECT format('schema %I owner=%s acl=%s', nspname, nspowner::regrole, nspacl)
  FROM pg_namespace WHERE oid IN (SELECT oid FROM fp_ns)
   AND NOT EXISTS (SELECT FROM fp_ext e WHERE e.classid = 'pg_namespace'::regclass AND e.objid = pg_namespace.oid)
UNION ALL
-- relations of every kind but indexes (below)
SELECT format('rel %s kind=%s persistence=%s owner=%s am=%s options=%s acl=%s rls=%s/%s replident=%s bound=%s partkey=%s parents=%s populated=%s ftoptions=%s',
              c.oid::regclass, c.relkind, c.relpersistence, c.relowner::regrole, am.amname, c.reloptions, c.relacl,
              c.relrowsecurity, c.relforcerowsecurity, c.relreplident, pg_get_expr(c.relpartbound, c.oid),
              CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
              (SELECT string_agg(i.inhparent::regclass::text, ',' ORDER BY i.inhseqno) FROM pg_inherits i WHERE i.inhrelid = c.oid),
              CASE WHEN c.relkind = 'm' THEN c.relispopulated END,
              (SELECT concat(s.srvname, ' ', ft.ftoptions) FROM pg_foreign_table ft JOIN pg_foreign_server s ON s.oid = ft.ftserver WHERE ft.ftrelid = c.oid))
  FROM fp_rel c LEFT JOIN pg_am am ON am.oid = c.relam WHERE c.relkind NOT IN ('i', 'I')
UNION ALL
-- columns, in their order; but an inheritance child's order is pg_dump's own limit (CREATE TABLE …
-- INHERITS puts the inherited columns first), so there the position is not compared
SELECT format('col %s #%s %I type=%s notnull=%s default=%s identity=%s generated=%s collation=%s storage=%s compression=%s local=%s inhcount=%s stats=%s options=%s fdwoptions=%s acl=%s',
              c.oid::regclass,
              CASE WHEN c.relispartition OR NOT EXISTS (SELECT FROM pg_inherits h WHERE h.inhrelid = c.oid)
                   THEN (row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum))::text ELSE 'inh' END, a.attname,
              format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity,
              a.attgenerated, co.collname, a.attstorage, to_jsonb(a)->>'attcompression', a.attislocal,
              a.attinhcount, a.attstattarget,
              ARRAY(SELECT o FROM unnest(a.attoptions) o WHERE left(o, 10) <> 'pg_attver='), a.attfdwoptions, a.attacl)
  FROM fp_rel c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  LEFT JOIN pg_collation co ON co.oid = a.attcollation
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
UNION ALL
-- constraints of tables and domains (NOT NULL ones too, where the major keeps them here); NO INHERIT
-- only where it means something (a key added to a partition before ATTACH says noinherit, pg_dump's way)
SELECT format('constraint %s on %s type=%s: %s local=%s inhcount=%s noinherit=%s validated=%s enforced=%s deferrable=%s/%s',
              -- a foreign key a partition inherits is named by ATTACH PARTITION on restore, as with pg_dump
              CASE WHEN k.contype = 'f' AND k.conparentid <> 0 THEN '(inherited)' ELSE quote_ident(k.conname) END, coalesce(k.conrelid::regclass::text, k.contypid::regtype::text), k.contype,
              pg_get_constraintdef(k.oid), k.conislocal, k.coninhcount, CASE WHEN k.contype IN ('c', 'n') THEN k.connoinherit END, k.convalidated,
              to_jsonb(k)->>'conenforced', k.condeferrable, k.condeferred)
  FROM pg_constraint k
 WHERE k.connamespace IN (SELECT oid FROM fp_ns)
   AND (k.conrelid = 0 OR k.conrelid IN (SELECT oid FROM fp_rel))
   AND NOT EXISTS (SELECT FROM fp_ext e WHERE e.classid = 'pg_type'::regclass AND e.objid = k.contypid)
UNION ALL
-- indexes
SELECT format('index %s: %s clustered=%s replident=%s valid=%s parent=%s',
              i.indexrelid::regclass, pg_get_indexdef(i.indexrelid), i.indisclustered, i.indisreplident, i.indisvalid,
              (SELECT string_agg(h.inhparent::regclass::text, ',') FROM pg_inherits h WHERE h.inhrelid = i.indexrelid))
  FROM pg_index i JOIN fp_rel c ON c.oid = i.indexrelid
UNION ALL
-- views and matviews
SELECT format('viewdef %s: %s', c.oid::regclass, pg_get_viewdef(c.oid)) FROM fp_rel c WHERE c.relkind IN ('v', 'm')
UNION ALL
-- triggers, rules, policies, extended statistics
SELECT format('trigger %s: %s enabled=%s', t.tgrelid::regclass, pg_get_triggerdef(t.oid), t.tgenabled)
  FROM pg_trigger t WHERE t.tgrelid IN (SELECT oid FROM fp_rel)
   -- a partition's clone of its parent's trigger is internal on 13 but has its own enabled state;
   -- foreign keys' triggers (named after OIDs) are the constraints' business
   AND (NOT t.tgisinternal OR ((to_jsonb(t)->>'tgparentid')::oid <> 0 AND t.tgconstraint = 0))
UNION ALL
SELECT format('rule %s enabled=%s', pg_get_ruledef(r.oid), r.ev_enabled)
  FROM pg_rewrite r JOIN fp_rel c ON c.oid = r.ev_class
 -- a view's query is its viewdef; any other rule counts, whatever its name (one named _RETURN too)
 WHERE NOT (r.ev_type = '1' AND r.is_instead AND c.relkind IN ('v', 'm'))
UNION ALL
SELECT format('policy %s', to_jsonb(p)::text) FROM pg_policies p WHERE p.schemaname IN (SELECT nspname FROM fp_ns)
UNION ALL
SELECT format('statistics %s target=%s', pg_get_statisticsobjdef(s.oid), s.stxstattarget)
  FROM pg_statistic_ext s WHERE s.stxnamespace IN (SELECT oid FROM fp_ns)
UNION ALL
-- functions, procedures, aggregates
SELECT format('function %s owner=%s acl=%s: %s', p.oid::regprocedure, p.proowner::regrole, p.proacl,
              CASE WHEN p.prokind = 'a' THEN
                  (SELECT (to_jsonb(g) - 'aggfnoid' - 'aggtranstype' - 'aggmtranstype' - 'aggsortop')::text
                          || format(' transtype=%s mtranstype=%s sortop=%s', format_type(g.aggtranstype, NULL),
                                    format_type(nullif(g.aggmtranstype, 0), NULL), nullif(g.aggsortop, 0)::regoperator)
                     FROM pg_aggregate g WHERE g.aggfnoid = p.oid)
              ELSE pg_get_functiondef(p.oid) END)
  FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM fp_ns)
   AND NOT EXISTS (SELECT FROM fp_ext e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid)
UNION ALL
-- types (not the row types of tables, not the arrays the server makes)
SELECT format('type %s kind=%s owner=%s acl=%s base=%s notnull=%s default=%s collation=%s labels=%s range=%s io=%s/%s/%s/%s/%s/%s/%s len=%s align=%s storage=%s category=%s',
              t.oid::regtype, t.typtype, t.typowner::regrole, t.typacl, format_type(nullif(t.typbasetype, 0), t.typtypmod),
              t.typnotnull, t.typdefault, (SELECT collname FROM pg_collation WHERE oid = t.typcollation),
              (SELECT string_agg(quote_literal(enumlabel), ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = t.oid),
              (SELECT format('%s %s %s %s %s', rngsubtype::regtype, rngcollation, rngsubopc, rngcanonical, rngsubdiff)
                 FROM (SELECT r.rngsubtype, (SELECT collname FROM pg_collation WHERE oid = r.rngcollation) AS rngcollation,
                              (SELECT opcname FROM pg_opclass WHERE oid = r.rngsubopc) AS rngsubopc, r.rngcanonical, r.rngsubdiff
                         FROM pg_range r WHERE r.rngtypid = t.oid) rr),
              t.typinput, t.typoutput, t.typreceive, t.typsend, t.typmodin, t.typmodout, t.typanalyze,
              t.typlen, t.typalign, t.typstorage, t.typcategory)
  FROM pg_type t WHERE t.typnamespace IN (SELECT oid FROM fp_ns)
   AND NOT EXISTS (SELECT FROM fp_ext e WHERE e.classid = 'pg_type'::regclass AND e.objid = t.oid)
   AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
   AND NOT EXISTS (SELECT FROM pg_type el WHERE el.typarray = t.oid)
   AND NOT EXISTS (SELECT FROM pg_range mr WHERE (to_jsonb(mr)->>'rngmultitypid')::oid = t.oid) -- 14+
UNION ALL
-- sequences: parameters and owning column (values are compared with the rows)
SELECT format('sequence %s type=%s start=%s increment=%s min=%s max=%s cache=%s cycle=%s owned=%s',
              s.seqrelid::regclass, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
              s.seqcache, s.seqcycle,
              (SELECT format('%s.%I %s', d.refobjid::regclass, a.attname, d.deptype) FROM pg_depend d
                 JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')))
  FROM pg_sequence s WHERE s.seqrelid IN (SELECT oid FROM fp_rel)
UNION ALL
-- publications and their tables (row filters and column lists where the major has them)
SELECT format('publication %s', (to_jsonb(p) - 'oid' - 'pubowner')::text || ' owner=' || p.pubowner::regrole)
  FROM pg_publication p
UNION ALL
SELECT format('publication table %s', to_jsonb(pt)::text) FROM pg_publication_tables pt
UNION ALL
SELECT format('subscription %s', (to_jsonb(s) - 'oid' - 'subdbid' - 'subowner' - 'subskiplsn')::text || ' owner=' || s.subowner::regrole)
  FROM pg_subscription s WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
UNION ALL
-- comments and security labels on anything
SELECT format('comment %s: %s', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
  FROM pg_description d WHERE d.objoid >= 16384
   -- 13 leaves a dropped subscription's comment behind (the regression database has one)
   AND (d.classoid <> 'pg_subscription'::regclass OR EXISTS (SELECT FROM pg_subscription s WHERE s.oid = d.objoid))
UNION ALL
SELECT format('label %s %s: %s', pg_describe_object(l.classoid, l.objoid, l.objsubid), l.provider, l.label)
  FROM pg_seclabel l
UNION ALL
-- default privileges, large objects
SELECT format('default acl %s in %s for %s: %s', d.defaclrole::regrole, d.defaclnamespace::regnamespace, d.defaclobjtype, d.defaclacl)
  FROM pg_default_acl d
UNION ALL
SELECT format('large objects: %s, owners %s, acls %s, bytes %s, md5 %s', count(*), string_agg(DISTINCT m.lomowner::regrole::text, ','),
              count(m.lomacl), (SELECT sum(length(data)) FROM pg_largeobject),
              md5(string_agg(m.oid::text || ':' || coalesce(m.lomacl::text, ''), ',' ORDER BY m.oid)))
  FROM pg_largeobject_metadata m
UNION ALL
-- every other kind of object, by the server's own description of it (with options where it has them)
SELECT format('object %s %s', pg_describe_object(x.classid, x.objid, 0), x.extra)
  FROM (SELECT 'pg_cast'::regclass AS classid, oid AS objid, castmethod::text AS extra FROM pg_cast
        UNION ALL SELECT 'pg_operator'::regclass, oid, concat(oprowner::regrole, ' ', oprcode, ' ', oprcom::regoperator, ' ', oprnegate::regoperator, ' ', oprrest, ' ', oprjoin, ' ', oprcanmerge, oprcanhash) FROM pg_operator
                  WHERE oprcode <> 0 -- a shell operator (named as a commutator, never defined) is not dumped, as by pg_dump
        UNION ALL SELECT 'pg_opclass'::regclass, oid, concat(opcowner::regrole, ' ', opcdefault) FROM pg_opclass
        UNION ALL SELECT 'pg_opfamily'::regclass, oid, opfowner::regrole::text FROM pg_opfamily
        -- members added to a built-in operator family are not dumped (pg_dump does not either)
        UNION ALL SELECT 'pg_amop'::regclass, oid, NULL FROM pg_amop WHERE amopfamily >= 16384
        UNION ALL SELECT 'pg_amproc'::regclass, oid, NULL FROM pg_amproc WHERE amprocfamily >= 16384
        UNION ALL SELECT 'pg_collation'::regclass, oid, concat(collowner::regrole, ' ', collprovider, ' ', collisdeterministic, ' ', to_jsonb(c) - 'oid' - 'collowner' - 'collnamespace' - 'collversion') FROM pg_collation c
        UNION ALL SELECT 'pg_conversion'::regclass, oid, concat(conowner::regrole, ' ', conforencoding, ' ', contoencoding, ' ', conproc, ' ', condefault) FROM pg_conversion
        UNION ALL SELECT 'pg_ts_config'::regclass, oid, concat(cfgowner::regrole, ' ', cfgparser) FROM pg_ts_config
        UNION ALL SELECT 'pg_ts_dict'::regclass, oid, concat(dictowner::regrole, ' ', dictinitoption) FROM pg_ts_dict
        UNION ALL SELECT 'pg_ts_parser'::regclass, oid, NULL FROM pg_ts_parser
        UNION ALL SELECT 'pg_ts_template'::regclass, oid, NULL FROM pg_ts_template
        UNION ALL SELECT 'pg_foreign_data_wrapper'::regclass, oid, concat(fdwowner::regrole, ' ', fdwhandler, ' ', fdwvalidator, ' ', fdwoptions, ' ', fdwacl) FROM pg_foreign_data_wrapper
        UNION ALL SELECT 'pg_foreign_server'::regclass, oid, concat(srvowner::regrole, ' ', srvtype, ' ', srvversion, ' ', srvoptions, ' ', srvacl) FROM pg_foreign_server
        UNION ALL SELECT 'pg_user_mapping'::regclass, oid, umoptions::text FROM pg_user_mapping
        UNION ALL SELECT 'pg_event_trigger'::regclass, oid, concat(evtowner::regrole, ' ', evtevent, ' ', evtfoid::regproc, ' ', evtenabled, ' ', evttags) FROM pg_event_trigger
        UNION ALL SELECT 'pg_language'::regclass, oid, concat(lanowner::regrole, ' ', lanpltrusted, ' ', lanacl) FROM pg_language
        UNION ALL SELECT 'pg_am'::regclass, oid, concat(amtype, ' ', amhandler) FROM pg_am
        UNION ALL SELECT 'pg_transform'::regclass, oid, concat(trffromsql::regproc, ' ', trftosql::regproc) FROM pg_transform
        UNION ALL SELECT 'pg_extension'::regclass, oid, concat(extversion, ' ', extnamespace::regnamespace, ' ', extowner::regrole) FROM pg_extension
       ) x
 WHERE x.objid >= 16384 AND NOT EXISTS (SELECT FROM fp_ext e WHERE e.classid = x.classid AND e.objid = x.objid)
) AS f(l) ORDER BY l COLLATE "C";
