/* placeholder: the timing scenario is being written */
#include "emu/timing.h"
