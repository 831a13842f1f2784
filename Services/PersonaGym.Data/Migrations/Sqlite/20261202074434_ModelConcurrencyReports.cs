using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace PersonaGym.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class ModelConcurrencyReports : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "ModelConcurrencyReports",
                columns: table => new
                {
                    Model = table.Column<string>(type: "TEXT", maxLength: 400, nullable: false),
                    Process = table.Column<string>(type: "TEXT", maxLength: 400, nullable: false),
                    Limit = table.Column<int>(type: "INTEGER", nullable: false),
                    Ceiling = table.Column<int>(type: "INTEGER", nullable: false),
                    InFlight = table.Column<int>(type: "INTEGER", nullable: false),
                    Waiting = table.Column<int>(type: "INTEGER", nullable: false),
                    ReportedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ModelConcurrencyReports", x => new { x.Model, x.Process });
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ModelConcurrencyReports");
        }
    }
}
