/* pygc_config.h -- the tunables of the core, in one place. */
#ifndef PYGC_CONFIG_H
#define PYGC_CONFIG_H

/* CPython 3.11's default thresholds */
#define PYGC_THRESHOLD0 700
#define PYGC_THRESHOLD1 10
#define PYGC_THRESHOLD2 10

/* nested deallocations allowed before the trashcan defers the rest
 * (CPython uses 50): bounds the C stack whatever the data's depth */
#define PYGC_TRASH_LIMIT 50

/* strings up to this many bytes are interned */
#define PYGC_INTERN_MAX 64

#endif
