# Sourced by the scripts: selects a JDK 25 or newer and exports JAVA_HOME, or fails with one line.
# Order: $JAVA_HOME if it is 25+, Temurin 25 at its usual path, then `java` on PATH if it is 25+.
keycast_java_major() { # prints the feature version of the java binary $1
  "$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}'
}
keycast_select_jdk() {
  local candidate major
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64; do
    if [ -n "$candidate" ] && [ -x "$candidate/bin/java" ]; then
      major=$(keycast_java_major "$candidate/bin/java")
      if [ "${major:-0}" -ge 25 ] 2>/dev/null; then export JAVA_HOME="$candidate"; return 0; fi
    fi
  done
  if command -v java >/dev/null 2>&1; then
    major=$(keycast_java_major "$(command -v java)")
    if [ "${major:-0}" -ge 25 ] 2>/dev/null; then
      JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
      export JAVA_HOME
      return 0
    fi
  fi
  echo "keycast: JDK 25 or newer not found: install Temurin 25 at /usr/lib/jvm/temurin-25-jdk-amd64 or set JAVA_HOME to a JDK 25" >&2
  return 1
}
