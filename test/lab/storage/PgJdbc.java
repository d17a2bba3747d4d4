// A small pgjdbc client for the lab tests: java -cp postgresql.jar PgJdbc.java <jdbc url> <sql>.
// Prints the first column of every row; exits 1 with the driver's message on a refusal.
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;

public class PgJdbc {
  public static void main(String[] args) {
    try (Connection c = DriverManager.getConnection(args[0]);
        Statement s = c.createStatement()) {
      if (s.execute(args[1])) {
        try (ResultSet r = s.getResultSet()) {
          while (r.next()) System.out.println(r.getString(1));
        }
      }
    } catch (Exception e) {
      System.err.println(e.getMessage());
      System.exit(1);
    }
  }
}
